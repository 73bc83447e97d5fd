import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { execa } from "execa";
import type { Config, PostgresJobConfig, S3TargetConfig } from "../../config/schema.js";
import { describeError } from "../../errors.js";
import { PgConnection } from "../../sources/pg-connection.js";
import { databaseNames } from "../../sources/postgres.js";
import { dutiesOf } from "../../policy/role.js";
import type { Findings } from "./findings.js";

/**
 * `config check --online`: connects to what the config names, without sending an alert
 * (that is `drctl alerts test`): each PostgreSQL server (its version against pg_dump's, the
 * privileges a dump needs) and each S3 bucket (a probe object written, read back and
 * deleted; versioning and Object Lock where a lock is configured).
 */
export async function checkOnline(config: Config, findings: Findings): Promise<void> {
  const pgDump = await pgDumpMajor();
  const backups = dutiesOf(config.role).backups;
  for (const [name, job] of Object.entries(config.jobs)) {
    if (job.type !== "postgres") continue;
    // A drill host never dumps the production server: only the server its drills restore into counts.
    if (backups) await checkPostgres(name, job, pgDump, findings);
    else if (job.drill) await checkDrillServer(name, job, findings);
  }
  for (const [name, t] of Object.entries(config.targets)) if (t.type === "s3") await checkBucket(name, t, findings);
}

async function pgDumpMajor(): Promise<{ version: string; major: number } | undefined> {
  const r = await execa("pg_dump", ["--version"], { reject: false });
  const m = /(\d+)(?:\.(\d+))?/.exec(r.stdout ?? "");
  return r.exitCode === 0 && m ? { version: m[0], major: Number(m[1]) } : undefined;
}

async function checkPostgres(name: string, job: PostgresJobConfig, pgDump: { version: string; major: number } | undefined, findings: Findings): Promise<void> {
  const at = `jobs.${name}.connection`;
  const problemsBefore = findings.problems.length;
  let conn: PgConnection;
  try {
    conn = await PgConnection.open(job.connection, job.password_file);
  } catch (err) {
    return findings.problem(`jobs.${name}.password_file`, describeError(err));
  }
  try {
    const first = await conn.client(conn.defaultDatabase);
    let version: string, major: number, superuser: boolean, user: string, names: string[];
    try {
      const v = await first.query<{ v: string; n: string; su: boolean; u: string }>(
        `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, r.rolsuper AS su, current_user AS u FROM pg_roles r WHERE r.rolname = current_user`,
      );
      ({ su: superuser, u: user } = v.rows[0]!);
      // "15.18 (Debian 15.18-0+deb12u1)": the number is what matters here.
      version = v.rows[0]!.v.split(" ")[0]!;
      major = Math.floor(Number(v.rows[0]!.n) / 10000);
      names = await databaseNames(first, job, conn.defaultDatabase);
    } finally {
      await first.end();
    }
    if (!pgDump) findings.problem(at, "pg_dump is not installed (apt-get install postgresql-client)");
    else if (pgDump.major < major) findings.problem(at, `pg_dump ${pgDump.version} cannot dump a PostgreSQL ${version} server: install postgresql-client-${major}`);
    if (job.globals && !superuser)
      findings.problem(`jobs.${name}.globals`, `pg_dumpall --globals-only reads every role and needs a superuser; ${user} is not one (grant it, or set globals: false)`);
    let tables = 0;
    for (const database of names) {
      const client = await conn.client(database);
      try {
        const { rows } = await client.query<{ name: string; readable: boolean }>(
          `SELECT format('%I.%I', n.nspname, c.relname) AS name, has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') AS readable
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
            ORDER BY 1`,
        );
        tables += rows.length;
        const denied = rows.filter((r) => !r.readable).map((r) => r.name);
        if (denied.length > 0)
          findings.problem(at, `${user} cannot read ${denied.length} table(s) of database ${database}, so pg_dump would fail: ${denied.slice(0, 5).join(", ")}${denied.length > 5 ? ", ..." : ""} (GRANT SELECT, or pg_read_all_data)`);
        if (!superuser) {
          // What a restore as this role would have to give away, judged on the live database its backups copy.
          const owners = (await client.query<{ owner: string }>(OWNERS_NOT_SETTABLE)).rows.map((r) => r.owner);
          if (owners.length > 0)
            findings.problem(at, `restoring database ${database} as ${user} could not give objects to their owners ${owners.join(", ")} (${user} is not a member): a restore needs --no-owner (everything owned by ${user}), or GRANT ${owners.join(", ")} TO ${user}`);
        }
      } finally {
        await client.end();
      }
    }
    if (findings.problems.length === problemsBefore) findings.ok(at, `PostgreSQL ${version} as ${user}; ${names.length} database(s), ${tables} table(s) and sequence(s)${pgDump ? `; pg_dump ${pgDump.version}` : ""}`);
    if (job.drill) await checkDrillServer(name, job, findings);
  } catch (err) {
    findings.problem(at, describeError(err));
  } finally {
    await conn.close();
  }
}

/** Owners of the objects pg_dump would dump, that the connected role may not give objects to. */
const OWNERS_NOT_SETTABLE = `
  SELECT DISTINCT pg_get_userbyid(o) AS owner FROM (
    SELECT n.nspowner AS o, n.nspname AS s FROM pg_namespace n WHERE n.nspname <> 'public'
    UNION ALL SELECT c.relowner, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    UNION ALL SELECT p.proowner, n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    UNION ALL SELECT t.typowner, n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  ) x
  WHERE s NOT IN ('pg_catalog', 'information_schema') AND s NOT LIKE 'pg\\_toast%' AND s NOT LIKE 'pg\\_temp%'
    AND o <> 'pg_database_owner'::regrole AND NOT pg_has_role(current_user, o, 'MEMBER')
  ORDER BY 1`;

/** A drill restores into a scratch database: its server must let drd create one. */
async function checkDrillServer(name: string, job: PostgresJobConfig, findings: Findings): Promise<void> {
  const at = job.drill!.connection ? `jobs.${name}.drill.connection` : `jobs.${name}.connection`;
  const conn = await PgConnection.open(job.drill!.connection ?? job.connection, job.password_file);
  try {
    const client = await conn.client(conn.defaultDatabase);
    try {
      const { rows } = await client.query<{ ok: boolean; u: string }>(`SELECT rolcreatedb OR rolsuper AS ok, current_user AS u FROM pg_roles WHERE rolname = current_user`);
      if (!rows[0]!.ok) findings.problem(at, `${rows[0]!.u} cannot create the scratch database a drill restores into (ALTER ROLE ${rows[0]!.u} CREATEDB)`);
      else findings.ok(at, `${rows[0]!.u} can create scratch databases`);
    } finally {
      await client.end();
    }
  } catch (err) {
    findings.problem(at, describeError(err));
  }
}

async function checkBucket(name: string, config: S3TargetConfig, findings: Findings): Promise<void> {
  const at = `targets.${name}`;
  const { S3Target } = await import("../../targets/s3.js");
  const target = new S3Target(name, config);
  const key = `.drd-probe/${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const body = `drd config check ${new Date().toISOString()}\n`;
  try {
    await target.put(key, Readable.from([Buffer.from(body)]));
    try {
      const back = await text(await target.get(key));
      if (back !== body) findings.problem(at, `the probe object read back from ${target.locate(key)} differs from what was written`);
    } finally {
      await target.delete([key]);
    }
  } catch (err) {
    return findings.problem(at, describeError(err));
  }
  const parts = [`wrote, read back and deleted ${target.locate(".drd-probe")}/...`];
  try {
    parts.push(`versioning ${await target.versioningState()}`);
  } catch (err) {
    findings.warning(at, describeError(err));
  }
  const lock = await target.lockProblem().catch((err: Error) => `could not check: ${err.message}`);
  if (lock) findings.warning(`${at}.object_lock`, lock);
  else if (config.object_lock) parts.push(`Object Lock enabled (${config.object_lock.mode}, ${config.object_lock.days} days)`);
  findings.ok(at, parts.join("; "));
}
