import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

/** Drill checks obey shutdown: SIGTERM ends a slow check within systemd's stop timeout, and the scratch goes. */
describe("a drill stopped by SIGTERM during its checks", () => {
  const ws = new Workspace();
  const marker = ws.path("check-started");

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    await freshDatabase(cluster, "slowcheck", "CREATE TABLE t AS SELECT 1 AS x");
    ws.withJobs({
      config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"], drill: { checks: [{ command: ["sh", "-c", `touch ${marker}; exec sleep 120`] }] } },
      database: { type: "postgres", connection: pgUrl("slowcheck"), globals: false, schedule: "0 * * * *", rpo: "1h", targets: ["local"], drill: { checks: [{ sql: "select pg_sleep(120) is not null" }] } },
    });
    for (const job of ["config", "database"]) expect((await ws.drctl(["backup", job])).exitCode).toBe(0);
  });
  afterAll(() => ws.remove());

  /** SIGTERM to a drill busy in a check: it must end within seconds, recorded as interrupted (exit 143). */
  async function stopsPromptly(drill: ReturnType<Workspace["drctl"]>): Promise<void> {
    const t = Date.now();
    drill.kill("SIGTERM");
    const run = await drill;
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(run.exitCode).toBe(143);
    expect(JSON.parse(run.stdout).error).toMatch(/interrupted: received SIGTERM/);
  }

  it("a command check: ends within seconds, exit 143 'interrupted', scratch directory removed", async () => {
    const drill = ws.drctl(["drill", "config", "--json"]);
    await waitFor(() => existsSync(marker), 30_000, "the check to start");
    await stopsPromptly(drill);
    expect(readdirSync(ws.stateDir).filter((e) => e.startsWith("drill-"))).toEqual([]);
  });

  it("an SQL check: ends within seconds, exit 143 'interrupted', scratch database dropped", async () => {
    const drill = ws.drctl(["drill", "database", "--json"]);
    for (let i = 0; i < 300; i++) {
      if ((await psql(cluster, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep(120)%'")) === "1") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await stopsPromptly(drill);
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'drd_drill_database_%'")).toBe("0");
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep(120)%'")).toBe("0");
  });
});
