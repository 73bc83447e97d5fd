import { mkdirSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog.js";
import { Workspace } from "../helpers/workspace.js";

const COUNT = 100_000;

describe("pruning a large backlog", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it(`removes ${COUNT.toLocaleString("en")} expired catalog entries without holding the catalog for long`, async () => {
    mkdirSync(ws.backupDir, { recursive: true });
    ws.withJobs({ db: { type: "files", paths: ["/etc/hostname"], schedule: "*/15 * * * *", rpo: "15m", targets: ["local"] } }, {
      targets: { local: { type: "local", path: ws.backupDir, retention: { max_age: "30d", keep_daily: 7, keep_weekly: 4, keep_monthly: 12 } } },
    });
    // A backlog: one backup every 15 minutes for about three years, newest now.
    const catalog = Catalog.open(ws.stateDir);
    const manifest = JSON.stringify({ artifacts: [{ name: "files.tar.zst" }] });
    const now = Date.now();
    catalog.db.transaction(() => {
      const b = catalog.db.prepare(`INSERT INTO backups (id, job, kind, snapshot_at, finished_at, size, sha256, manifest) VALUES (?, 'db', 'files', ?, ?, 1, 'x', ?)`);
      const c = catalog.db.prepare(`INSERT INTO copies (backup_id, target, location, state, written_at, verified_at) VALUES (?, 'local', 'x', 'verified', ?, ?)`);
      for (let i = 0; i < COUNT; i++) {
        const at = now - i * 15 * 60_000;
        b.run(`db-${String(i).padStart(6, "0")}`, at, at, manifest);
        c.run(`db-${String(i).padStart(6, "0")}`, at, at);
      }
    })();
    catalog.close();

    // While drctl prunes, another writer must never wait long for the catalog.
    const writer = new Database(`${ws.stateDir}/catalog.sqlite`);
    writer.pragma("busy_timeout = 10000");
    const insert = writer.prepare(`INSERT INTO events (at, kind) VALUES (?, 'probe')`);
    const child = ws.drctl(["prune", "--json"]);
    let done = false;
    void child.finally(() => (done = true));
    let worstWaitMs = 0;
    let probes = 0;
    while (!done) {
      const t0 = performance.now();
      insert.run(Date.now());
      worstWaitMs = Math.max(worstWaitMs, performance.now() - t0);
      probes++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const run = await child;
    writer.close();
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.removed + report.kept).toBe(COUNT);
    expect(report.removed).toBeGreaterThan(COUNT - 3500);
    expect(probes).toBeGreaterThan(20);
    expect(worstWaitMs).toBeLessThan(1000);

    const after = Catalog.open(ws.stateDir);
    expect(after.db.prepare(`SELECT count(*) AS n FROM backups`).get()).toEqual({ n: report.kept });
    after.close();
  });
});
