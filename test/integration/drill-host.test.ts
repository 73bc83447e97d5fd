import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { slotName } from "../../src/wal/layout.js";
import { waitFor } from "../helpers/files.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { BOTH_TARGETS, writeLocalAndS3Config } from "../helpers/s3.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

/**
 * A drill host: a second machine with the server's config (its own state_dir) that only
 * drills, from the same targets. The server takes the backups with drctl backup; the drill
 * host's daemon (--drills-only) drills each job on its drill.schedule and does nothing else.
 */
describe("a drill host (drctl daemon --drills-only)", () => {
  const server = new Workspace();
  const drillHost = new Workspace();
  // A job name of this file's own: no other test's slot can be taken for it.
  const clusterJob = "drillhost_cluster";
  const ids: Record<string, string> = {};
  let serverConfig: Record<string, unknown>;

  const onTargets = async (ws: Workspace) => {
    const local = readdirSync(server.backupDir, { recursive: true, encoding: "utf8" }).filter((p) => p.endsWith("manifest.json")).sort();
    const offsite = JSON.parse((await ws.drctl(["list", "--from", "offsite", "--json"])).stdout).map((b: { id: string }) => b.id).sort();
    return { local, offsite };
  };
  const paged = drillHost.path("paged.jsonl");
  const pages = () => (existsSync(paged) ? readFileSync(paged, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { event: string; job: string | null }) : []);
  const slots = () => psql(cluster, "postgres", `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slotName(clusterJob)}'`);

  beforeAll(async () => {
    mkdirSync(server.path("src"), { recursive: true });
    writeFileSync(server.path("src", "app.conf"), "x = 1\n");
    await freshDatabase(cluster, "drillhostsrc", "CREATE TABLE hosts AS SELECT generate_series(1, 50) AS id");
    // Once a day, 20 s from now (after the backups): each job drills once while the drill host's daemon runs.
    const at = new Date(Date.now() + 20_000);
    const drillAt = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    await writeLocalAndS3Config(server, inject("s3Port"), "drillhost", {
      conf: { type: "files", paths: [server.path("src")], ...BOTH_TARGETS, drill: { schedule: drillAt, from: "offsite" } },
      database: { type: "postgres", connection: pgUrl("drillhostsrc"), globals: false, ...BOTH_TARGETS,
        drill: { schedule: drillAt, from: "offsite", connection: pgUrl("postgres"), checks: [{ sql: "select count(*) = 50 from hosts" }] } },
      // Restores, and fails its check: the drill host alerts drill_failed and rto_breach.
      badcheck: { type: "files", paths: [server.path("src")], ...BOTH_TARGETS, drill: { schedule: drillAt, from: "offsite", checks: [{ command: ["false"] }] } },
      // A cluster job a server's daemon would stream (a slot on the test server): a drill host must not.
      [clusterJob]: { type: "postgres_cluster", connection: pgUrl("postgres"), ...BOTH_TARGETS },
    });
    for (const job of ["conf", "database", "badcheck"]) {
      const run = await server.drctl(["backup", job, "--json"]);
      expect(run.exitCode, run.stderr).toBe(0);
      ids[job] = JSON.parse(run.stdout).id;
    }
    // The same config on the drill host, but for its own state dir; alerts go to a file.
    serverConfig = { ...parse(readFileSync(server.configPath, "utf8")), alerts: [{ type: "command", name: "pager", command: ["sh", "-c", `cat >> ${paged}; echo >> ${paged}`] }] };
    writeFileSync(server.configPath, stringify(serverConfig));
    writeFileSync(drillHost.configPath, stringify({ ...serverConfig, state_dir: drillHost.stateDir }));
  }, 120_000);
  afterAll(() => {
    server.remove();
    drillHost.remove();
  });

  it("drills each job from the targets on its drill.schedule, records them in its own catalog, and takes, prunes, copies and streams nothing", async () => {
    const before = await onTargets(server);
    const daemon = drillHost.drctl(["daemon", "--allow-root", "--drills-only"]);
    let log = "";
    daemon.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    const drills = () => log.split("\n").filter((l) => l.includes('"msg":"drill done"')).map((l) => JSON.parse(l) as { job: string; ok: boolean; backup: string; error?: string });
    await waitFor(() => ["conf", "database", "badcheck"].every((j) => drills().some((d) => d.job === j)), 60_000, "a drill of each job");
    // Only a drill can raise these (the server never drills): the drill host's own alerts.
    const told = (event: string) => pages().some((m) => m.event === event && m.job === "badcheck");
    await waitFor(() => told("drill_failed") && told("rto_breach"), 30_000, "drill_failed and rto_breach of badcheck");
    daemon.kill("SIGTERM");
    expect((await daemon).exitCode).toBe(0);

    for (const job of ["conf", "database"]) expect(drills().find((d) => d.job === job)).toMatchObject({ ok: true, backup: ids[job] });
    expect(drills().find((d) => d.job === "badcheck")).toMatchObject({ ok: false, backup: ids.badcheck });
    expect(pages().filter((m) => m.event.startsWith("rpo_"))).toEqual([]);
    const msgs = log.trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain("drill host: drills only; no backups, WAL streams, prunes or copies");
    // No backup timer, catch-up, prune, copy retry or WAL stream (they log these when they run).
    for (const never of ["scheduled", "running a backup missed while drd was down", "backup done", "backup failed", "pruned", "copy retried", "receiving WAL", "receiving WAL from archive_command"])
      expect(msgs).not.toContain(never);

    const db = new Database(join(drillHost.stateDir, "catalog.sqlite"), { readonly: true });
    const recorded = db.prepare("SELECT job, backup_id, target, ok FROM drills WHERE finished_at IS NOT NULL ORDER BY id").all() as { job: string; backup_id: string; target: string; ok: number }[];
    const runs = (db.prepare("SELECT count(*) AS n FROM runs").get() as { n: number }).n;
    const pruned = (db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'pruned'").get() as { n: number }).n;
    db.close();
    expect(recorded.filter((d) => d.ok === 1).map((d) => d.job)).toEqual(expect.arrayContaining(["conf", "database"]));
    expect(recorded.find((d) => d.job === "database")).toMatchObject({ backup_id: ids.database, target: "offsite", ok: 1 });
    expect(runs).toBe(0);
    expect(pruned).toBe(0);
    // Nothing new on the targets, nothing gone from them; no slot on the server.
    expect(await onTargets(server)).toEqual(before);
    expect(await slots()).toBe("0");
  }, 120_000);

  it("with role: drills in its config, status judges RTO from its drills and says RPO is not measured; backup and prune are refused (exit 2)", async () => {
    writeFileSync(drillHost.configPath, stringify({ ...serverConfig, state_dir: drillHost.stateDir, role: "drills" }));
    const status = await drillHost.drctl(["status", "--json"]);
    expect(status.exitCode).toBe(0);
    const byJob = Object.fromEntries((JSON.parse(status.stdout) as { job: string }[]).map((s) => [s.job, s]));
    expect(byJob.database).toMatchObject({ rpo_state: "not_measured", age_seconds: null, policy_ok: null, next_backup_at: null, rto_state: "ok", last_drill: { ok: true, from: "offsite" } });
    expect(byJob.badcheck).toMatchObject({ rpo_state: "not_measured", rto_state: "breach", rto_reason: "the newest drill failed" });
    expect(byJob[clusterJob]).toMatchObject({ rpo_state: "not_measured", rto_state: "untested" });
    // In breach for badcheck's RTO, never for an RPO.
    const check = await drillHost.drctl(["status", "--check"]);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toMatch(/RPO\s+not_measured not measured on a drill host; RPO 60 min/);
    expect(check.stdout).toMatch(/copies as drilled: offsite written/);

    for (const args of [["backup", "conf"], ["prune", "--dry-run"], ["replicate"]]) {
      const run = await drillHost.drctl(args);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toBe(`drctl: this host is a drill host (role: drills): it never runs drctl ${args[0]}; run it on the server that takes the backups`);
    }
  }, 60_000);

  it("config check on a drill host judges what its drills use, not the server's sources: a files path and a database only the server reaches are no problem there", async () => {
    const jobs = serverConfig.jobs as Record<string, Record<string, unknown>>;
    const elsewhere = {
      ...serverConfig,
      state_dir: drillHost.stateDir,
      jobs: { ...jobs, conf: { ...jobs.conf, paths: ["/nonexistent/drd-drill-host-src"] }, database: { ...jobs.database, connection: "postgresql://postgres@127.0.0.1:1/drillhostsrc" } },
    };
    writeFileSync(drillHost.configPath, stringify({ ...elsewhere, role: "drills" }));
    const onDrillHost = await drillHost.drctl(["config", "check", "--online"]);
    expect([onDrillHost.exitCode, onDrillHost.stderr]).toEqual([0, expect.not.stringContaining("problem")]);
    expect(onDrillHost.stdout).toContain("can create scratch databases");
    // The same config on a server: both are problems.
    writeFileSync(drillHost.configPath, stringify(elsewhere));
    const onServer = await drillHost.drctl(["config", "check", "--online"]);
    expect(onServer.exitCode).toBe(2);
    expect(onServer.stdout + onServer.stderr).toContain("jobs.conf.paths[0]: cannot read /nonexistent/drd-drill-host-src");
    expect(onServer.stdout + onServer.stderr).toContain("jobs.database.");
  }, 60_000);
});
