import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog.js";
import { Outbox } from "../../src/catalog/outbox.js";
import { waitFor } from "../helpers/files.js";
import { Blackhole } from "../helpers/receivers.js";
import { s3TargetConfig } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";

/**
 * Every peer drd talks to hangs: the S3 endpoint, the webhook, the SMTP server and the
 * heartbeat accept connections and never answer, and 50 alerts wait for each hung channel.
 * Deadlines are 1-2 s here. The protection must go on as if nothing hung.
 */
describe("peers that accept and never answer", () => {
  const ws = new Workspace();
  const hole = new Blackhole();
  const SLOT_MS = 3_000;

  beforeAll(async () => {
    await hole.start();
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    const files = (targets: string[]) => ({ type: "files", paths: [ws.path("src")], schedule: "*/3 * * * * *", rpo: "1h", targets });
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: {
        local: { type: "local", path: ws.backupDir },
        offsite: s3TargetConfig(ws.dir, hole.port, "drd-hung", { connect_timeout: "1s", stall_timeout: "1s", min_rate: "1MiB/s" }),
      },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs: {
        here: files(["local"]),
        away: files(["local", "offsite"]),
        broken: { type: "files", paths: [ws.path("missing")], schedule: "*/3 * * * * *", rpo: "1h", targets: ["local"] },
      },
      alerts: [
        { type: "webhook", name: "hook", url: `http://127.0.0.1:${hole.port}/hook`, timeout: "1s" },
        { type: "email", name: "mail", smtp: { host: "127.0.0.1", port: hole.port, require_tls: false }, to: ["ops@example.net"], timeout: "1s" },
        { type: "command", name: "pager", command: ["sh", "-c", `cat >> ${ws.path("paged.jsonl")}; echo >> ${ws.path("paged.jsonl")}`], events: ["backup_failed"] },
      ],
      heartbeat: { url: `http://127.0.0.1:${hole.port}/ping`, timeout: "1s" },
    });
    // 50 alerts already waiting for each hung channel, as after a long outage.
    const catalog = Catalog.open(ws.stateDir);
    const outbox = new Outbox(catalog.db);
    for (let i = 0; i < 50; i++)
      for (const channel of ["hook", "mail"]) outbox.add(channel, JSON.stringify({ event: "backup_failed", job: "here", severity: "warning", message: `old ${i}`, details: {}, timestamp: new Date().toISOString(), host: "h" }), Date.now());
    catalog.close();
  });
  afterAll(async () => {
    await hole.stop();
    ws.remove();
  });

  it("backups start on their slots, the local copy is recorded within the deadline, the pager hears of failures, and SIGTERM ends it within seconds", async () => {
    const { process: daemon, log } = ws.daemon();
    const started = Date.now();
    await waitFor(() => log().includes('"msg":"scheduled"'), 30_000, "the daemon");
    await new Promise((r) => setTimeout(r, 16_000));

    const db = new Database(`${ws.stateDir}/catalog.sqlite`, { readonly: true });
    const runs = db.prepare<[], { job: string; started_at: number; state: string }>(`SELECT job, started_at, state FROM runs WHERE started_at >= ? ORDER BY started_at`).all(started);
    const backups = db
      .prepare<[], { job: string; snapshot_at: number; finished_at: number; local: string; offsite: string | null }>(
        `SELECT b.job, b.snapshot_at, b.finished_at, l.state AS local, o.state AS offsite FROM backups b
         JOIN copies l ON l.backup_id = b.id AND l.target = 'local' LEFT JOIN copies o ON o.backup_id = b.id AND o.target = 'offsite' ORDER BY b.snapshot_at`,
      )
      .all();
    db.close();

    // The local-only job: every slot of the window ran, each within 2 s of its slot (its
    // first run is the catch-up of a job never run, at start, on no slot).
    const here = runs.filter((r) => r.job === "here").slice(1);
    const slotsPassed = Math.floor((Date.now() - started) / SLOT_MS);
    expect(here.length).toBeGreaterThanOrEqual(slotsPassed - 1);
    const late = runs.map((r) => `${r.job} +${r.started_at - started} ms, ${r.started_at % SLOT_MS} ms after its slot`);
    expect(here.filter((r) => r.started_at % SLOT_MS >= 2_000), late.join("\n")).toEqual([]);
    // One may still be under way as the catalog is read.
    expect(here.filter((r) => r.state !== "succeeded" && r.state !== "running"), JSON.stringify(here)).toEqual([]);

    // The job whose offsite hangs: its backups are recorded with the local copy verified
    // within the deadline (connect 1 s + stall 1 s), the offsite copy pending.
    const away = backups.filter((b) => b.job === "away");
    expect(away.length).toBeGreaterThanOrEqual(2);
    for (const b of away) {
      expect(b.local).toBe("verified");
      expect(b.offsite).toBe("pending");
      expect(b.finished_at - b.snapshot_at).toBeLessThan(2_000 + 1_500);
    }

    // The failing job's alerts reached the pager, behind neither the hung channels nor their 50 rows.
    const paged = readFileSync(ws.path("paged.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { job: string });
    expect(paged.filter((m) => m.job === "broken").length).toBeGreaterThanOrEqual(1);
    expect(hole.connections).toBeGreaterThan(0);

    const stopAt = Date.now();
    daemon.kill("SIGTERM");
    const result = await daemon;
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(result.exitCode).toBe(0);
    expect(log()).toContain('"msg":"drd stopped"');
  });
});

describe("a database server that accepts and never answers", () => {
  const ws = new Workspace();
  const hole = new Blackhole();
  beforeAll(() => hole.start());
  afterAll(async () => {
    await hole.stop();
    ws.remove();
  });

  it("a backup fails after the default connect timeout (10 s), naming the server, instead of waiting for ever", async () => {
    ws.withJobs({ database: { type: "postgres", connection: `postgresql://drd@127.0.0.1:${hole.port}/app`, schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } });
    const started = Date.now();
    const run = await ws.drctl(["backup", "database"]);
    expect(Date.now() - started).toBeGreaterThan(9_000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(`drctl: cannot connect to postgresql://drd@127.0.0.1:${hole.port}/app: timeout expired`);
  });
});
