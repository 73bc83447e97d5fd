import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { slotName } from "../../src/wal/layout.js";
import { psql } from "../helpers/postgres-cluster.js";
import { REPO, Workspace } from "../helpers/workspace.js";

type Report = { ok: boolean; restart_needed: boolean; applied: string[] | null; pending_restart: { name: string; value: string | null }[]; checks: { check: string; ok: boolean; required: boolean }[] };

/** drctl wal setup JOB --apply: what SQL can do, done as a superuser; what waits for a restart or pg_hba.conf, said. */
describe("wal setup --apply", () => {
  const ws = new Workspace();
  let server: Cluster;
  const slot = slotName("cluster");
  const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(REPO, "docs/json/wal-setup.schema.json"), "utf8")));
  const apply = async (...extra: string[]) => {
    const run = await ws.drctl(["wal", "setup", "cluster", "--apply", "--superuser-connection", server.url("postgres"), ...extra, "--json"]);
    const report = JSON.parse(run.stdout) as Report;
    expect(validate(report) ? [] : validate.errors).toEqual([]);
    return { exitCode: run.exitCode, stderr: run.stderr, report };
  };
  const restart = async () => {
    await server.pause();
    await server.resume();
  };

  beforeAll(async () => {
    server = await startCluster();
    await psql(server, "postgres", "CREATE ROLE drd_app LOGIN");
    ws.withJobs({ cluster: { type: "postgres_cluster", connection: server.url("postgres", "drd_app"), schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } });
  });
  afterAll(async () => {
    await server.stop();
    ws.remove();
  });

  it("on a stock server with a role lacking REPLICATION: the role gets it, the slot is made, the bound asked is set; no restart; a second --apply changes nothing", async () => {
    const before = await ws.drctl(["wal", "setup", "cluster"]);
    expect(before.exitCode).toBe(1);
    expect(before.stdout).toContain("NEEDED  the role may stream WAL: drd_app lacks REPLICATION");
    // The job's role is no superuser: --apply says what it needs.
    const refused = await ws.drctl(["wal", "setup", "cluster", "--apply"]);
    expect([refused.exitCode, refused.stderr]).toEqual([2, "drctl: --apply needs a superuser: drd_app is not one; give --superuser-connection postgresql://postgres@HOST/postgres"]);
    const withPassword = await ws.drctl(["wal", "setup", "cluster", "--apply", "--superuser-connection", "postgresql://postgres:s3cret@127.0.0.1/postgres"]);
    expect(withPassword.exitCode).toBe(2);
    expect(withPassword.stderr).not.toContain("s3cret");
    expect((await ws.drctl(["wal", "setup", "cluster", "--max-slot-wal-keep-size", "2GB"])).stderr).toBe("drctl: --max-slot-wal-keep-size: only with --apply");

    const first = await apply("--max-slot-wal-keep-size", "2GB");
    expect([first.exitCode, first.stderr]).toEqual([0, ""]);
    expect(first.report.applied).toEqual([
      "ALTER ROLE drd_app REPLICATION;",
      `SELECT pg_create_physical_replication_slot('${slot}', true);`,
      "ALTER SYSTEM SET max_slot_wal_keep_size = '2048MB';",
      "SELECT pg_reload_conf();",
    ]);
    expect(first.report).toMatchObject({ ok: true, restart_needed: false, pending_restart: [] });
    expect(first.report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await psql(server, "postgres", "SELECT rolreplication FROM pg_roles WHERE rolname = 'drd_app'")).toBe("t");
    expect(await psql(server, "postgres", `SELECT restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = '${slot}'`)).toBe("t");
    expect(await psql(server, "postgres", "SHOW max_slot_wal_keep_size")).toBe("2GB");

    const second = await apply("--max-slot-wal-keep-size", "2GB");
    expect([second.exitCode, second.report.applied, second.report.ok]).toEqual([0, [], true]);
    const human = await ws.drctl(["wal", "setup", "cluster", "--apply", "--superuser-connection", server.url("postgres")]);
    expect([human.exitCode, human.stderr]).toEqual([0, ""]);
    expect(human.stdout).toMatch(/^cluster: nothing to apply$/m);
  });

  it("wal_level minimal: set to replica with the senders, the restart reported (exit 1), not set again before it; after the restart the slot is made, then nothing is left", async () => {
    await psql(server, "postgres", `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}'`);
    await psql(server, "postgres", "ALTER SYSTEM SET wal_level = 'minimal'");
    await psql(server, "postgres", "ALTER SYSTEM SET max_wal_senders = 0");
    await restart();
    expect(await psql(server, "postgres", "SHOW wal_level")).toBe("minimal");

    const first = await apply();
    expect(first.exitCode).toBe(1);
    expect(first.report.applied).toEqual(["ALTER SYSTEM SET wal_level = 'replica';", "ALTER SYSTEM SET max_wal_senders = '10';", "SELECT pg_reload_conf();"]);
    expect(first.report).toMatchObject({ ok: false, restart_needed: true });
    expect(first.report.pending_restart).toEqual([
      { name: "max_wal_senders", value: "10" },
      { name: "wal_level", value: "replica" },
    ]);
    expect(first.report.checks.filter((c) => !c.ok && c.required).map((c) => c.check)).toEqual([
      "wal_level is replica or logical",
      "WAL senders and replication slots are allowed",
      "pg_hba.conf allows the replication connection",
    ]);
    const human = await ws.drctl(["wal", "setup", "cluster", "--apply", "--superuser-connection", server.url("postgres")]);
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toMatch(/^cluster: nothing to apply$/m);
    expect(human.stdout).toMatch(/^ {2}restart needed: wal_level = replica takes effect when PostgreSQL restarts$/m);
    expect(human.stdout).toMatch(/^ {2}NEEDED {2}wal_level is replica or logical: wal_level = minimal; replica is set and waits for a restart\n {10}restart PostgreSQL/m);
    expect(human.stderr).toMatch(/^drctl: cluster's server needs \d change\(s\) above, one of them with a restart$/m);

    await restart();
    const after = await apply();
    expect([after.exitCode, after.stderr]).toEqual([0, ""]);
    expect(after.report.applied).toEqual([`SELECT pg_create_physical_replication_slot('${slot}', true);`]);
    expect(after.report).toMatchObject({ ok: true, restart_needed: false, pending_restart: [] });
    const again = await apply();
    expect([again.exitCode, again.report.applied]).toEqual([0, []]);
  });
});
