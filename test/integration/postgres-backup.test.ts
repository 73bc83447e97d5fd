import { readFileSync } from "node:fs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psql } from "../helpers/postgres-cluster.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

const DB = "pgsrc";

describe("drctl backup of a postgres job", () => {
  const ws = new Workspace();
  beforeAll(async () => {
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${DB}`);
    await psql(cluster, "postgres", `CREATE DATABASE ${DB}`);
    await psql(
      cluster,
      DB,
      `CREATE TABLE hosts (id serial primary key, name text); INSERT INTO hosts (name) SELECT md5(g::text) FROM generate_series(1, 5000) g;
       CREATE SCHEMA audit; CREATE TABLE audit.events (id bigint, payload text); INSERT INTO audit.events SELECT g, repeat('x', g % 50) FROM generate_series(1, 1234) g;`,
    );
    ws.withJobs({ database: { type: "postgres", connection: pgUrl(DB), schedule: "*/15 * * * *", rpo: "15m", targets: ["local"] } });
  });
  afterAll(() => ws.remove());

  it("writes a dump that pg_restore restores with the same row counts, and lists it", async () => {
    const run = await ws.drctl(["backup", "database", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout);
    expect(outcome.copies).toEqual([expect.objectContaining({ target: "local", state: "verified" })]);

    const manifest = JSON.parse(readFileSync(`${ws.backupDir}/database/${outcome.id}/manifest.json`, "utf8"));
    expect(manifest.postgres.databases[0].tables).toEqual([
      { schema: "audit", table: "events", rows: 1234 },
      { schema: "public", table: "hosts", rows: 5000 },
    ]);
    expect(manifest.artifacts.map((a: { name: string }) => a.name)).toEqual([`${DB}.dump.zst`, "globals.sql.zst"]);

    await psql(cluster, "postgres", "DROP DATABASE IF EXISTS pgcopy");
    await psql(cluster, "postgres", "CREATE DATABASE pgcopy");
    await execa("bash", ["-o", "pipefail", "-c", `zstd -dc '${ws.backupDir}/database/${outcome.id}/${DB}.dump.zst' | pg_restore --no-owner -d '${pgUrl("pgcopy")}'`]);
    expect(await psql(cluster, "pgcopy", "SELECT (SELECT count(*) FROM hosts) || ',' || (SELECT count(*) FROM audit.events)")).toBe("5000,1234");

    const list = await ws.drctl(["list", "--json"]);
    expect(list.exitCode).toBe(0);
    const backups = JSON.parse(list.stdout);
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatchObject({ id: outcome.id, job: "database", kind: "postgres", state: "complete", policy_ok: true, sha256: outcome.sha256 });
  });
});
