import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { BOTH_TARGETS, writeLocalAndS3Config } from "../helpers/s3.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

describe("drctl drill", () => {
  const ws = new Workspace();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const port = inject("s3Port");
    const certs = ws.path("certs");
    mkdirSync(certs, { recursive: true });
    await execa("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "10", "-nodes", "-subj", "/CN=agent.example.net",
      "-keyout", join(certs, "agent.key"), "-out", join(certs, "agent.pem")]);
    writeFileSync(ws.path("pass"), "drill passphrase\n");
    await freshDatabase(cluster, "drillsrc", "CREATE TABLE hosts AS SELECT generate_series(1, 250) AS id");
    await writeLocalAndS3Config(ws, port, "drill", {
      database: { type: "postgres", connection: pgUrl("drillsrc"), globals: false, ...BOTH_TARGETS,
        drill: { from: "offsite", connection: pgUrl("postgres"), jobs: 2, checks: [{ sql: "select count(*) > 0 from hosts" }] } },
      badcheck: { type: "postgres", connection: pgUrl("drillsrc"), globals: false, ...BOTH_TARGETS,
        drill: { checks: [{ sql: "select count(*) > 1000 from hosts" }] } },
      certificates: { type: "files", paths: [certs], encrypt: { passphrase_file: ws.path("pass") }, ...BOTH_TARGETS,
        drill: { from: "offsite", passphrase_file: ws.path("pass"), checks: [{ command: ["test", "-s", certs.slice(1) + "/agent.pem"] }] } },
      keyless: { type: "files", paths: [certs], encrypt: { passphrase_file: ws.path("pass") }, ...BOTH_TARGETS },
    });
    for (const job of ["database", "badcheck", "certificates", "keyless"]) ids[job] = JSON.parse((await ws.drctl(["backup", job, "--json"])).stdout).id;
  });
  afterAll(() => ws.remove());

  const scratchDatabases = () => psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname ~ '^drd_drill_(database|badcheck)_'");

  it("a postgres drill restores from s3 into a scratch database, runs its checks, records the RTO and drops the scratch", async () => {
    const run = await ws.drctl(["drill", "database", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout);
    expect(outcome).toMatchObject({ ok: true, rto_proven: true, from: "offsite", backup_id: ids.database });
    expect(outcome.checks.map((c: { check: string; ok: boolean }) => [c.check, c.ok])).toEqual([["manifest", true], ["select count(*) > 0 from hosts", true]]);
    expect(outcome.duration_seconds).toBeGreaterThan(0);
    expect(await scratchDatabases()).toBe("0");
    const db = new Database(join(ws.stateDir, "catalog.sqlite"), { readonly: true });
    const row = db.prepare("SELECT backup_id, target, ok, phases FROM drills WHERE id = ?").get(outcome.id) as { phases: string };
    db.close();
    expect(row).toMatchObject({ backup_id: ids.database, target: "offsite", ok: 1 });
    expect(Object.keys(JSON.parse(row.phases))).toEqual(["download", "decrypt", "restore", "checks", "rto_proven"]);
  });

  it("a failing check fails the drill with exit 3, and the scratch database is still dropped", async () => {
    const run = await ws.drctl(["drill", "badcheck"]);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toMatch(/^drctl: drill of badcheck failed: drill check failed: select count\(\*\) > 1000 from hosts: returned false$/m);
    expect(await scratchDatabases()).toBe("0");
  });

  it("restored row counts that differ from the manifest fail the drill (exit 3)", async () => {
    const db = new Database(join(ws.stateDir, "catalog.sqlite"));
    const { manifest } = db.prepare("SELECT manifest FROM backups WHERE id = ?").get(ids.database) as { manifest: string };
    const m = JSON.parse(manifest);
    m.postgres.databases[0].tables[0].rows = 251;
    db.prepare("UPDATE backups SET manifest = ? WHERE id = ?").run(JSON.stringify(m), ids.database);
    db.close();
    const run = await ws.drctl(["drill", "database", "--from", "local"]);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toMatch(/restored row counts differ from the backup's: public\.hosts: 250 rows, expected 251/);
    expect(await scratchDatabases()).toBe("0");
  });

  it("an encrypted files drill decrypts with the drill key, checks hashes, runs its command and warns of certificates expiring within 30 days", async () => {
    const run = await ws.drctl(["drill", "certificates", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout);
    expect(outcome.ok).toBe(true);
    expect(outcome.certificates).toEqual([expect.objectContaining({ subject: "CN=agent.example.net", days_left: expect.any(Number) })]);
    expect(outcome.certificates[0].days_left).toBeLessThanOrEqual(10);
    expect(outcome.warnings).toEqual([expect.stringMatching(/^certificate .*agent\.pem \(CN=agent\.example\.net\) expires \d{4}-/)]);
  });

  it("without a key on this host, an encrypted job's drill checks integrity only and says the RTO is not proven", async () => {
    const run = await ws.drctl(["drill", "keyless", "--json"]);
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout);
    expect(outcome).toMatchObject({ ok: true, rto_proven: false, from: "offsite" });
    expect(outcome.warnings[0]).toMatch(/integrity checked, restore \(RTO\) not proven/);
  });
});
