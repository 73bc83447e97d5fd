import Database from "better-sqlite3";
import { execa } from "execa";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GpgHome } from "../helpers/gpg.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { BOTH_TARGETS, writeLocalAndS3Config } from "../helpers/s3.js";
import { cluster, pgUrl, problems, Workspace } from "../helpers/workspace.js";

// Rows of every awkward kind (tabs, newlines, backslashes, "\." inside a value), about 6 MiB
// of them so they are divided among the sessions, and the objects around them.
const SOURCE_SQL = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE hosts (id int PRIMARY KEY, name text NOT NULL);
  INSERT INTO hosts SELECT g, 'host-' || g FROM generate_series(1, 50) g;
  CREATE TABLE events (id bigserial PRIMARY KEY, host_id int REFERENCES hosts (id), at timestamptz, mood mood, message text, payload jsonb);
  INSERT INTO events (host_id, at, mood, message, payload)
    SELECT 1 + g % 50, timestamptz '2026-01-01' + g * interval '1 minute', (ARRAY['sad', 'ok', 'happy']::mood[])[1 + g % 3],
      CASE g % 4 WHEN 0 THEN E'tab\\there' WHEN 1 THEN E'line\\nbreak' WHEN 2 THEN E'back\\\\slash\\n\\\\.\\n' ELSE repeat('x', 60) END,
      jsonb_build_object('g', g, 's', md5(g::text))
    FROM generate_series(1, 40000) g;
  CREATE INDEX events_at ON events (at);
  CREATE TABLE empty_t (x int);
  CREATE VIEW recent AS SELECT * FROM events WHERE at > '2026-01-20';
  CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 42; $$;
  SELECT lo_from_bytea(0, 'large object bytes');
`;

/** What must be the same in the source and the restored database. */
const FINGERPRINT = `SELECT concat_ws(' | ',
  (SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM events e),
  (SELECT count(*) FROM events), (SELECT count(*) FROM hosts), (SELECT count(*) FROM empty_t),
  (SELECT last_value FROM events_id_seq), (SELECT count(*) FROM recent), answer(),
  (SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata))`;

async function schemaOf(db: string): Promise<string> {
  const { stdout } = await execa("pg_dump", ["--schema-only", pgUrl(db)]);
  return stdout.replace(/^\\(un)?restrict .*$/gm, "");
}

describe("drctl restore --jobs", () => {
  const ws = new Workspace();
  let gpg: GpgHome;

  beforeAll(async () => {
    gpg = await GpgHome.create();
    await gpg.exportPublic(ws.path("public.asc"));
    await gpg.exportSecret(ws.path("secret.asc"));
    await freshDatabase(cluster, "jsrc", SOURCE_SQL);
    await writeLocalAndS3Config(ws, inject("s3Port"), "restore-jobs", {
      database: { type: "postgres", connection: pgUrl("jsrc"), encrypt: { recipients: [ws.path("public.asc")] }, ...BOTH_TARGETS },
    });
    const run = await ws.drctl(["backup", "database"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
  });
  afterAll(async () => {
    await gpg?.remove();
    ws.remove();
  });

  it("with 3 sessions from s3 gives the same database: rows, sequence, large object, schema", async () => {
    await psql(cluster, "postgres", "DROP DATABASE IF EXISTS jobs_3");
    const run = await ws.drctl(["restore", "database", "--from", "offsite", "--to-db", "jobs_3", "--jobs", "3", "--key", ws.path("secret.asc"), "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ destination: { database: "jobs_3", jobs: 3 }, checked: "3 table(s) have the row counts recorded at backup time" });
    expect(await psql(cluster, "jobs_3", FINGERPRINT)).toBe(await psql(cluster, "jsrc", FINGERPRINT));
    expect(await schemaOf("jobs_3")).toBe(await schemaOf("jsrc"));
  });

  it("with --clean replaces what an earlier restore left, in 2 sessions", async () => {
    await psql(cluster, "jobs_3", "DELETE FROM events WHERE id % 2 = 0; CREATE TABLE stray (x int)");
    const run = await ws.drctl(["restore", "database", "--to-db", "jobs_3", "--clean", "--jobs", "2", "--key", ws.path("secret.asc")]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(await psql(cluster, "jobs_3", FINGERPRINT)).toBe(await psql(cluster, "jsrc", FINGERPRINT));
  });

  it("stops at the first failing statement with exit 1 naming it, and leaves the database as it found it", async () => {
    // No tables (so no --clean needed), but a type the dump creates too.
    await freshDatabase(cluster, "jobs_taken", "CREATE TYPE mood AS ENUM ('other')");
    const run = await ws.drctl(["restore", "database", "--to-db", "jobs_taken", "--jobs", "2", "--key", ws.path("secret.asc")]);
    expect(run.exitCode).toBe(1);
    expect(problems(run.stderr)).toMatch(/^drctl: restoring failed at "CREATE TYPE public\.mood AS ENUM \(": type "mood" already exists$/);
    expect(await psql(cluster, "jobs_taken", "SELECT count(*) FROM pg_class WHERE relname = 'events'")).toBe("0");
  });

  // Last: it alters the catalog's manifest. One session counts with count(*); more use the rows the server reported loading.
  it.each([1, 2])("with %i session(s): row counts that differ from the manifest fail the restore (exit 3), nothing left", async (jobs) => {
    const catalog = new Database(join(ws.stateDir, "catalog.sqlite"));
    const { id, manifest } = catalog.prepare("SELECT id, manifest FROM backups").get() as { id: string; manifest: string };
    const m = JSON.parse(manifest);
    m.postgres.databases[0].tables.find((t: { table: string }) => t.table === "events").rows = 40001;
    catalog.prepare("UPDATE backups SET manifest = ? WHERE id = ?").run(JSON.stringify(m), id);
    catalog.close();
    const db = `jobs_miscount_${jobs}`;
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${db}`);
    const run = await ws.drctl(["restore", "database", "--to-db", db, "--jobs", String(jobs), "--key", ws.path("secret.asc")]);
    expect(run.exitCode).toBe(3);
    expect(problems(run.stderr)).toBe("drctl: restored row counts differ from the backup's: public.events: 40000 rows, expected 40001");
    expect(await psql(cluster, "postgres", `SELECT count(*) FROM pg_database WHERE datname = '${db}'`)).toBe("0");
  });
});
