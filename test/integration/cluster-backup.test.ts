import { chownSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { serverBin, startCluster, type Cluster } from "../../src/demo/postgres.js";
import { parseLsn } from "../../src/policy/wal.js";
import { psql } from "../helpers/postgres-cluster.js";
import { BOTH_TARGETS, writeLocalAndS3Config } from "../helpers/s3.js";
import Ajv from "ajv";
import { parse } from "yaml";
import { slotName } from "../../src/wal/layout.js";
import { cluster, pgUrl, REPO, Workspace } from "../helpers/workspace.js";

/** A postgres_cluster job's base backups: pg_basebackup's tar through the pipeline, to both targets. */
describe("cluster jobs: physical base backups", () => {
  const ws = new Workspace();
  let id = "";
  beforeAll(async () => {
    await writeLocalAndS3Config(ws, inject("s3Port"), "cluster", { cluster: { type: "postgres_cluster", connection: pgUrl("postgres"), ...BOTH_TARGETS } });
  });
  afterAll(async () => {
    // The backups created the job's slot, which keeps WAL until a stream reads it: the shared server must not keep it.
    await psql(cluster, "postgres", `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slotName("cluster")}'`);
    ws.remove();
  });

  it("streams the cluster's base backup to both targets, recording its WAL range, timeline and system identifier", async () => {
    await psql(cluster, "postgres", "DROP TABLE IF EXISTS base_marker; CREATE TABLE base_marker AS SELECT 42 AS answer");
    const before = parseLsn(await psql(cluster, "postgres", "SELECT pg_current_wal_lsn()"));
    const run = await ws.drctl(["backup", "cluster", "--json"]);
    expect(run.exitCode, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { id: string; kind: string; policy_ok: boolean; copies: { target: string; state: string }[] };
    id = out.id;
    expect(out).toMatchObject({ kind: "postgres_cluster", policy_ok: true });
    expect(out.copies.map((c) => `${c.target} ${c.state}`)).toEqual(["local verified", "offsite verified"]);
    const manifest = JSON.parse(readFileSync(join(ws.backupDir, "cluster", id, "manifest.json"), "utf8"));
    expect(manifest.artifacts.map((a: { name: string; role: string }) => `${a.name} ${a.role}`)).toEqual(["base.tar.zst base"]);
    const sysid = await psql(cluster, "postgres", "SELECT system_identifier FROM pg_control_system()");
    expect(manifest.cluster).toMatchObject({ system_identifier: sysid, timeline: 1, wal_segment_size: 16 << 20 });
    const [start, end] = [parseLsn(manifest.cluster.start_lsn), parseLsn(manifest.cluster.end_lsn)];
    expect(start).toBeGreaterThanOrEqual(before);
    expect(end).toBeGreaterThan(start);
  });

  it("the stored tar is the data directory with pg_basebackup's own backup_manifest, which pg_verifybackup accepts", async () => {
    const dir = ws.path("extracted");
    mkdirSync(dir, { mode: 0o700 });
    await execa("bash", ["-c", `zstd -dc '${join(ws.backupDir, "cluster", id, "base.tar.zst")}' | tar -xf - -C '${dir}'`]);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["PG_VERSION", "backup_label", "backup_manifest", "global", "base"]));
    // -n: the WAL is not in the backup (-X none); everything else is checked against the manifest.
    const verify = await execa(join(serverBin(), "pg_verifybackup"), ["-n", dir], { reject: false });
    expect([verify.exitCode, verify.stderr]).toEqual([0, ""]);
    expect(verify.stdout).toBe("backup successfully verified");
  });

  it("verify re-reads both copies; without its WAL archived (no daemon streams it here) the base backup is no restorable point: status says so, and a restore stops naming the missing WAL (exit 3)", async () => {
    expect((await ws.drctl(["verify", "--job", "cluster"])).exitCode).toBe(0);
    const restore = await ws.drctl(["restore", "cluster", "--to-dir", ws.path("restored")]);
    expect(restore.exitCode).toBe(3);
    expect(restore.stderr).toMatch(/^drctl: WAL file [0-9A-F]{24} is not in the archive yet; base backup cluster-\S+ needs it to be consistent$/);
    const [status] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { type: string; rpo_state: string; last_backup_id: string | null; policy_ok: boolean }[];
    expect(status).toMatchObject({ type: "postgres_cluster", last_backup_id: null, policy_ok: true });
    expect(status!.rpo_state).not.toBe("ok");
    expect((await ws.drctl(["status"])).stdout).toContain("no restorable point yet: no base backup that meets");
  });

  it("wal setup says what the server has and lacks, with the fix for each: a superuser on a stock server needs nothing, and is advised to bound what a slot keeps", async () => {
    const run = await ws.drctl(["wal", "setup", "cluster"]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(/^ {2}ok {6}the role may stream WAL: postgres is a superuser$/m);
    expect(run.stdout).toMatch(new RegExp(`^ {2}ok {6}the slot ${slotName("cluster")}: holds WAL from [0-9A-F]+/[0-9A-F]+`, "m"));
    expect(run.stdout).toMatch(/^ {2}advice {2}a slot cannot fill the disk: max_slot_wal_keep_size = -1.*\n {10}ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf\(\);/m);
    const json = await ws.drctl(["wal", "setup", "cluster", "--json"]);
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(REPO, "docs/json/wal-setup.schema.json"), "utf8")));
    const report = JSON.parse(json.stdout) as { ok: boolean; restart_needed: boolean };
    expect(validate(report) ? [] : validate.errors).toEqual([]);
    expect(report).toMatchObject({ ok: true, restart_needed: false });
  });

  it("wal setup of a role without REPLICATION: exit 1, the ALTER ROLE to run, and the server's own refusal of its replication connection", async () => {
    await psql(cluster, "postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'drd_norepl') THEN CREATE ROLE drd_norepl LOGIN; END IF; END $$");
    const config = parse(readFileSync(ws.configPath, "utf8")) as { jobs: Record<string, Record<string, unknown>> };
    ws.writeConfig({ ...config, jobs: { cluster: { ...config.jobs.cluster, connection: pgUrl("postgres", "drd_norepl") } } });
    try {
      const run = await ws.drctl(["wal", "setup", "cluster"]);
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.stdout).toMatch(/^ {2}NEEDED {2}the role may stream WAL: drd_norepl lacks REPLICATION\n {10}ALTER ROLE drd_norepl REPLICATION;$/m);
      expect(run.stdout).toMatch(/^ {2}NEEDED {2}pg_hba.conf allows the replication connection: .*(replication|superuser)/m);
      expect(run.stderr).toMatch(/^drctl: cluster's server needs \d change\(s\) above$/);
    } finally {
      ws.writeConfig(config);
    }
  });

  it("a config that asks what cluster jobs do not do is refused, naming the key", async () => {
    for (const [extra, problem] of [
      [{ drill: { connection: pgUrl("postgres") } }, "jobs.cluster.drill.connection: is for postgres jobs"],
      [{ wal: { mode: "copy" } }, "jobs.cluster.wal.mode"],
      [{ wal: { mode: "stream", socket: "/run/drd/wal/x.sock" } }, "jobs.cluster.wal"],
    ] as const) {
      ws.withJobs({ cluster: { type: "postgres_cluster", connection: pgUrl("postgres"), ...BOTH_TARGETS, ...extra } });
      const check = await ws.drctl(["config", "check"]);
      expect(check.exitCode).toBe(2);
      expect(check.stderr).toContain(problem);
    }
  });
});

describe("a cluster with a tablespace outside its data directory", () => {
  const ws = new Workspace();
  let server: Cluster;
  beforeAll(async () => {
    server = await startCluster();
    const space = ws.path("space");
    mkdirSync(space, { mode: 0o700 });
    if (process.getuid?.() === 0) {
      const uid = Number((await execa("id", ["-u", "postgres"])).stdout);
      chownSync(space, uid, uid === 0 ? 0 : Number((await execa("id", ["-g", "postgres"])).stdout));
      await execa("chmod", ["755", ws.dir]);
    }
    await psql(server, "postgres", `CREATE TABLESPACE elsewhere LOCATION '${space}'`);
  });
  afterAll(async () => {
    await server.stop();
    ws.remove();
  });

  it("is refused before pg_basebackup runs, naming the tablespace and what backs it up instead", async () => {
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir } },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs: { cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
    });
    const run = await ws.drctl(["backup", "cluster"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("the cluster has tablespaces outside its data directory (elsewhere): cluster jobs back up clusters without them");
    expect((await ws.drctl(["list", "cluster", "--json"])).stdout).toBe("[]");
  });
});
