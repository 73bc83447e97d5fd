import { readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import Ajv from "ajv";
import { parse } from "yaml";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { serverBin, startCluster, type Cluster } from "../../src/demo/postgres.js";
import { psql } from "../helpers/postgres-cluster.js";
import { testClient, writeLocalAndS3Config } from "../helpers/s3.js";
import { REPO, Workspace } from "../helpers/workspace.js";
import { s3RecordWhole, waitFor } from "../helpers/cluster-job.js";
import { clusterScratchPrefix } from "../../src/app/drill.js";

type RestorePoint = { state: "counted"; name: string; lsn: string; database: string; tables: { schema: string; table: string; rows: number }[]; tables_total: number };
type Drill = {
  ok: boolean;
  rto_proven: boolean;
  duration_seconds: number;
  rto_seconds: number;
  checks: { check: string; ok: boolean; detail: string }[];
  warnings: string[];
  restores: { kind: string; target: string; backup_id: string; reached: string; ok: boolean; seconds: number; checks: { check: string; ok: boolean }[] }[];
};

/**
 * A cluster job's base backup makes a restore point with exact row counts, and its drill
 * restores to the newest moment, a random moment of the window and that restore point.
 */
describe("cluster drills: latest, a random moment, the restore point and its row counts", () => {
  const ws = new Workspace();
  let server: Cluster;
  let bucket = "";
  let point: RestorePoint;
  let baseId = "";

  /** Closes the current segment and waits until both targets hold it. */
  const archiveAll = async () => {
    const closed = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
    await waitFor(`segment ${closed} on both targets`, async () => {
      if (!existsSync(join(ws.backupDir, "ledger", "wal", `${closed}.json`))) return false;
      return s3RecordWhole(inject("s3Port"), bucket, "ledger", closed);
    });
  };
  const config = () => parse(readFileSync(ws.configPath, "utf8")) as { jobs: Record<string, Record<string, unknown>> };
  const withChecks = (base: ReturnType<typeof config>, checks: unknown[]) => ws.writeConfig({ ...base, jobs: { ledger: { ...base.jobs.ledger, drill: { checks } } } });

  beforeAll(async () => {
    server = await startCluster();
    await psql(server, "postgres", "CREATE TABLE ledger (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");
    await psql(server, "postgres", "CREATE SCHEMA app; CREATE TABLE app.hosts AS SELECT g AS n FROM generate_series(1, 3) g");
    // Recovery empties an unlogged table: it is never counted.
    await psql(server, "postgres", "CREATE UNLOGGED TABLE scratchpad AS SELECT g AS n FROM generate_series(1, 10) g");
    bucket = await writeLocalAndS3Config(ws, inject("s3Port"), "cdrill", {
      ledger: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", rto: "1h", targets: ["local", "offsite"] },
    });
  });
  afterAll(async () => {
    await server.stop();
    ws.remove();
  });

  it("a base backup taken while rows are inserted records a restore point whose row counts are exactly what a restore to it holds", async () => {
    const daemon = ws.daemon();
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      const script = ws.path("insert.sql");
      writeFileSync(script, "INSERT INTO ledger DEFAULT VALUES;\n");
      const load = execa(join(serverBin(), "pgbench"), ["-n", "-c", "2", "-T", "12", "-f", script, server.url("postgres")], { reject: false });
      await waitFor("rows written", async () => Number(await psql(server, "postgres", "SELECT count(*) FROM ledger")) > 100);
      let run: Awaited<ReturnType<Workspace["drctl"]>> | undefined;
      // The daemon's first start may be running the schedule's missed backup.
      await waitFor("a base backup", async () => {
        run = await ws.drctl(["backup", "ledger", "--json"]);
        return run.exitCode === 0 || !`${run.stdout}${run.stderr}`.includes("already running");
      });
      expect([run!.exitCode, run!.stderr]).toEqual([0, ""]);
      const out = JSON.parse(run!.stdout) as { id: string; restore_point: RestorePoint };
      baseId = out.id;
      point = out.restore_point;
      expect(point).toMatchObject({ state: "counted", name: `drd_${baseId}`, database: "postgres", tables_total: 2 });
      expect(point.tables.map((t) => `${t.schema}.${t.table}`)).toEqual(["app.hosts", "public.ledger"]);
      expect(point.tables[0]!.rows).toBe(3);
      const ledger = point.tables[1]!.rows;
      expect(ledger).toBeGreaterThan(100);
      const done = await load;
      expect(done.exitCode, String(done.stderr)).toBe(0);
      // Still being written after the point: the count is of that moment, not of the end.
      expect(Number(await psql(server, "postgres", "SELECT count(*) FROM ledger"))).toBeGreaterThan(ledger);
      // The manifest, signed, holds it too, and the JSON output follows its schema.
      const manifest = JSON.parse(readFileSync(join(ws.backupDir, "ledger", baseId, "manifest.json"), "utf8")) as { cluster: { restore_point: RestorePoint; end_lsn: string } };
      expect(manifest.cluster.restore_point).toEqual(point);
      expect(existsSync(join(ws.backupDir, "ledger", baseId, "manifest.json.sig"))).toBe(true);
      const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(REPO, "docs/json/backup.schema.json"), "utf8")));
      expect(validate(out) ? [] : validate.errors).toEqual([]);
      await archiveAll();
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    // A restore to the point's LSN has exactly the rows counted there.
    await execa("chmod", ["755", ws.dir]);
    const dir = ws.path("at-point");
    const restore = await ws.drctl(["restore", "ledger", "--at", point.lsn, "--to-dir", dir, "--check"]);
    expect([restore.exitCode, restore.stderr]).toEqual([0, ""]);
    const port = 40_000 + Math.floor(Math.random() * 9000);
    const asPostgres = (args: string[]) => execa("runuser", ["-u", "postgres", "--", ...args]);
    await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-w", "-l", join(dir, "t.log"), "-o", `-p ${port} -c listen_addresses='' -k ${dir}`, "start"]);
    try {
      const count = await execa("psql", ["-XAtq", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", "SELECT count(*) FROM ledger"]);
      expect(Number(count.stdout)).toBe(point.tables[1]!.rows);
    } finally {
      await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-m", "fast", "-w", "stop"]);
    }
  }, 180_000);

  it("a drill restores to latest, to a random moment of the window and to the restore point, checks each, lists them in --json and records the slowest as its RTO", async () => {
    const base = config();
    withChecks(base, [{ sql: "SELECT count(*) > 0 FROM ledger" }]);
    const scratch = () => readdirSync(tmpdir()).filter((n) => n.startsWith(clusterScratchPrefix(ws.stateDir, "ledger")));
    try {
      const run = await ws.drctl(["drill", "ledger", "--json"]);
      expect([run.exitCode, run.stderr]).toEqual([0, ""]);
      const drill = JSON.parse(run.stdout) as Drill;
      expect(drill).toMatchObject({ ok: true, rto_proven: true, warnings: [] });
      // The moment is random within the window, so it may lie before the newest base backup and restore from an older one.
      expect(drill.restores.map((r) => [r.kind, r.ok, r.kind === "moment" ? r.backup_id.startsWith("ledger-") : r.backup_id])).toEqual([
        ["latest", true, baseId],
        ["moment", true, true],
        ["restore_point", true, baseId],
      ]);
      const [latest, moment, atPoint] = drill.restores as [Drill["restores"][number], Drill["restores"][number], Drill["restores"][number]];
      expect(latest.target).toBe("latest");
      expect(latest.checks.map((c) => [c.check, c.ok])).toEqual([["recovery", true], ["SELECT count(*) > 0 FROM ledger", true]]);
      expect(moment.target).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(moment.checks.map((c) => [c.check, c.ok])).toEqual([["recovery", true]]);
      expect(atPoint.target).toBe(`LSN ${point.lsn}`);
      expect(atPoint.checks.map((c) => [c.check, c.ok])).toEqual([["recovery", true], [`row counts at restore point ${point.name}`, true]]);
      // A random moment just after an older base backup's consistency may have no transaction replayed after it.
      for (const r of drill.restores) expect(r.reached).toMatch(r.kind === "moment" ? /^WAL replayed through [0-9A-F]+\/[0-9A-F]+, last transaction (\d{4}-|\(none\))/ : /^WAL replayed through [0-9A-F]+\/[0-9A-F]+, last transaction \d{4}-/);
      // The moment lies in the window: after the base backup it restored from was consistent.
      const manifest = JSON.parse(readFileSync(join(ws.backupDir, "ledger", moment.backup_id, "manifest.json"), "utf8")) as { finished_at: string };
      expect(Date.parse(moment.target)).toBeGreaterThanOrEqual(Date.parse(manifest.finished_at));
      expect(drill.checks.every((c) => c.ok)).toBe(true);
      expect(drill.rto_seconds).toBe(Math.max(...drill.restores.map((r) => r.seconds)));
      expect(drill.rto_seconds).toBeLessThan(drill.duration_seconds);
      const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(REPO, "docs/json/drill.schema.json"), "utf8")));
      expect(validate(drill) ? [] : validate.errors).toEqual([]);
      // One drill, one record: status's last drill carries the RTO it measured.
      const [status] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { last_drill: { ok: boolean; duration_seconds: number }; measured_rto_seconds: number; rto_state: string }[];
      expect(status!.last_drill.ok).toBe(true);
      expect(Math.abs(status!.last_drill.duration_seconds - drill.rto_seconds)).toBeLessThan(0.01);
      expect(status!.measured_rto_seconds).toBe(status!.last_drill.duration_seconds);
      expect(status!.rto_state).toBe("ok");
      const human = await ws.drctl(["drill", "ledger"]);
      expect([human.exitCode, human.stderr]).toEqual([0, ""]);
      expect(human.stdout).toMatch(/^ {2}restore to a random moment, \S+: ok in [\d.]+ s, WAL replayed through /m);
      expect(human.stdout).toMatch(/measured RTO [\d.]+ s, its slowest restore/);
      expect(scratch()).toEqual([]);
    } finally {
      ws.writeConfig(base);
    }
  }, 240_000);

  it("a failed check fails the drill (exit 3, drill_failed) and nothing is left behind", async () => {
    const base = config();
    withChecks(base, [{ sql: "SELECT count(*) = 0 FROM ledger" }]);
    try {
      const run = await ws.drctl(["drill", "ledger"]);
      expect(run.exitCode).toBe(3);
      expect(run.stderr).toMatch(/^drctl: drill of ledger failed: drill check failed: SELECT count\(\*\) = 0 FROM ledger: returned false$/m);
      const events = JSON.parse((await ws.drctl(["events", "--json"])).stdout) as { event: string }[];
      expect(events.map((e) => e.event)).toContain("drill_failed");
      expect(readdirSync(tmpdir()).filter((n) => n.startsWith(clusterScratchPrefix(ws.stateDir, "ledger")))).toEqual([]);
      expect((await execa("pgrep", ["-f", clusterScratchPrefix(ws.stateDir, "ledger")], { reject: false })).stdout).toBe("");
    } finally {
      ws.writeConfig(base);
    }
  }, 240_000);

  it("a writer that holds a table past 5 s: the restore point is made without counts, the backup says why and succeeds", async () => {
    // Its insert holds ROW EXCLUSIVE on ledger until it commits, 20 s on.
    const writer = execa("psql", ["-XAtq", "-d", server.url("postgres"), "-c", "BEGIN; INSERT INTO ledger DEFAULT VALUES; SELECT pg_sleep(20); COMMIT;"], { reject: false });
    try {
      await waitFor("the writer holding ledger", async () => (await psql(server, "postgres", "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'ledger' AND l.mode = 'RowExclusiveLock'")) === "1");
      const run = await ws.drctl(["backup", "ledger"]);
      expect(run.exitCode, run.stderr).toBe(0);
      const id = /^backup (\S+):/m.exec(run.stdout)![1]!;
      expect(run.stderr).toBe(`drctl: warning: restore point drd_${id} at ${/at ([0-9A-F]+\/[0-9A-F]+) has/.exec(run.stderr)?.[1]} has no row counts: the tables could not be locked within 5s (a writer held one longer)`);
      const manifest = JSON.parse(readFileSync(join(ws.backupDir, "ledger", id, "manifest.json"), "utf8")) as { cluster: { restore_point: { state: string; name: string; reason: string } } };
      expect(manifest.cluster.restore_point).toMatchObject({ state: "uncounted", name: `drd_${id}`, reason: "the tables could not be locked within 5s (a writer held one longer)" });
      // The writer was never held back or cancelled: it commits as it meant to.
      expect((await writer).exitCode).toBe(0);
    } finally {
      writer.kill();
    }
  }, 120_000);
});
