import { randomBytes } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { execa, type Result } from "execa";
import type pg from "pg";
import type { PostgresJobConfig } from "../../config/schema.js";
import { describeError, IntegrityError, OperationError, UsageError } from "../../errors.js";
import type { DatabaseDetails, TableCount } from "../../manifest.js";
import type { Compression } from "../../pipeline/compress.js";
import { hasPipeFd } from "../../pipeline/pipe-fd.js";
import { PgConnection } from "../../sources/pg-connection.js";
import { restoreScriptParts } from "./restore-script.js";
import { loadInSessions } from "./session-load.js";

export interface DatabaseTarget {
  conn: PgConnection;
  /** The database loaded into. */
  name: string;
  /** drd created it: a failed restore drops it. */
  created: boolean;
  /** With --clean over an existing database: the one `name` replaces once every check passed. */
  replaces?: string;
}

/** Whether `name` exists on the server and how many tables it has. */
async function tablesIn(conn: PgConnection, name: string): Promise<number | undefined> {
  const admin = await conn.client(conn.defaultDatabase);
  try {
    if ((await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount !== 1) return undefined;
  } finally {
    await admin.end();
  }
  const db = await conn.client(name);
  try {
    return Number(
      (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)).rows[0]!.n,
    );
  } finally {
    await db.end();
  }
}

function refuseNonEmpty(name: string, tables: number | undefined, clean: boolean): void {
  if (tables !== undefined && tables > 0 && !clean) throw new UsageError(`database "${name}" exists and has ${tables} table(s); restore into a new name, or pass --clean to replace it`);
}

/** What a dry run checks of the destination: the server answers, and an existing database is refused as the real run would. */
export async function inspectDatabase(job: PostgresJobConfig, name: string, clean: boolean): Promise<void> {
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    refuseNonEmpty(name, await tablesIn(conn, name), clean);
  } finally {
    await conn.close();
  }
}

/**
 * Where a restore loads: `name`, created when it does not exist or reused when empty. An
 * existing non-empty database is replaced only with `clean`, and then never in place: the
 * dump goes into a new database that swapDatabase puts under the name after the checks.
 */
export async function prepareDatabase(job: PostgresJobConfig, name: string, clean: boolean): Promise<DatabaseTarget> {
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    const tables = await tablesIn(conn, name);
    refuseNonEmpty(name, tables, clean);
    if (tables !== undefined && tables === 0) return { conn, name, created: false };
    const into = tables === undefined ? name : `drd_new_${randomBytes(6).toString("hex")}`;
    const admin = await conn.client(conn.defaultDatabase);
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(into)}`);
    } finally {
      await admin.end();
    }
    return tables === undefined ? { conn, name, created: true } : { conn, name: into, created: true, replaces: name };
  } catch (err) {
    await conn.close();
    throw err;
  }
}

/**
 * Puts the restored database under the name it replaces: the old one is renamed aside
 * (its sessions ended: --clean asked to replace it), the new one takes the name, and the
 * old one is dropped. If the second rename fails the old one gets its name back.
 */
export async function swapDatabase(target: DatabaseTarget): Promise<void> {
  const live = target.replaces!;
  const aside = `drd_old_${randomBytes(6).toString("hex")}`;
  const admin = await target.conn.client(target.conn.defaultDatabase);
  try {
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [live]);
    await admin.query(`ALTER DATABASE ${quoteIdent(live)} RENAME TO ${quoteIdent(aside)}`);
    try {
      await admin.query(`ALTER DATABASE ${quoteIdent(target.name)} RENAME TO ${quoteIdent(live)}`);
    } catch (err) {
      await admin.query(`ALTER DATABASE ${quoteIdent(aside)} RENAME TO ${quoteIdent(live)}`);
      throw new OperationError(`could not put the restored database under the name ${live}: ${(err as Error).message}; ${live} is unchanged`);
    }
    target.name = live;
    target.created = false;
    await admin.query(`DROP DATABASE ${quoteIdent(aside)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * The roles that own objects in a dump: the last word of each entry of its table of contents
 * (`pg_restore -l`), which pg_restore reads from the head of the stream and then stops.
 */
export async function dumpOwners(plain: Compression, signal: AbortSignal): Promise<Set<string>> {
  const direct = hasPipeFd(plain.output);
  const proc = execa("pg_restore", ["--list"], { stdin: direct ? plain.output : "pipe", stdout: "pipe", stderr: "pipe", cancelSignal: signal, reject: false, stripFinalNewline: false });
  if (direct) plain.output.destroy();
  else pipeline(plain.output, proc.stdin!).catch(() => undefined);
  const result = await proc;
  if (result.exitCode !== 0) throw new IntegrityError(`the dump's table of contents cannot be read: ${String(result.stderr).trim().slice(-300)}`);
  const owners = new Set<string>();
  for (const line of String(result.stdout).split("\n")) {
    if (!line || line.startsWith(";")) continue;
    const owner = line.trim().split(/\s+/).pop();
    if (owner && owner !== "-") owners.add(owner);
  }
  return owners;
}

/** Of `owners`, those the role connected as may not give objects (ALTER ... OWNER TO needs membership, or a superuser). */
export async function ownersNotSettable(conn: PgConnection, owners: Iterable<string>): Promise<{ role: string; cannot: string[] }> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const me = await client.query<{ role: string; superuser: boolean }>(`SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`);
    const { role, superuser } = me.rows[0]!;
    if (superuser) return { role, cannot: [] };
    const cannot: string[] = [];
    for (const owner of owners) {
      const r = await client.query<{ ok: boolean | null }>(`SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN pg_has_role(current_user, $1, 'MEMBER') END AS ok`, [owner]);
      if (r.rows[0]?.ok !== true) cannot.push(owner);
    }
    return { role, cannot: cannot.sort() };
  } finally {
    await client.end();
  }
}

/**
 * Decides before pg_restore runs (it cannot fall back object by object): owners the role
 * cannot set refuse the restore, naming both ways out; with `noOwner` they are only told.
 */
export async function judgeOwners(conn: PgConnection, owners: Set<string>, noOwner: boolean): Promise<string | undefined> {
  const { role, cannot } = await ownersNotSettable(conn, owners);
  if (noOwner) {
    const others = [...owners].filter((o) => o !== role).sort();
    return others.length > 0 ? `--no-owner: what the backup gives to ${others.join(", ")} is owned by ${role}` : undefined;
  }
  if (cannot.length > 0)
    throw new UsageError(
      `restoring as ${role} cannot give objects to their owners ${cannot.join(", ")} (${role} is not a member of ${cannot.length === 1 ? "that role" : "those roles"}, or they do not exist): give --no-owner (everything owned by ${role}), or GRANT ${cannot.join(", ")} TO ${role}`,
    );
  return undefined;
}

export interface LoadOptions {
  noOwner: boolean;
  /** Leave out GRANTs and REVOKEs (pg_restore --no-acl). */
  noPrivileges: boolean;
  /** Sessions loading the database: 1 is pg_restore's own; more run pg_restore's script in that many. */
  jobs: number;
}

/** Loads plain dump streams into a database; holds its sessions until closed. */
export interface Loader {
  /** Resolves with the rows the server reported loading per table ("schema.table"), when drd ran the load itself. */
  load(plain: Compression, signal: AbortSignal): Promise<Map<string, number> | undefined>;
  close(): Promise<void>;
}

/**
 * How a dump gets into `target`; stops at the first error. With one job pg_restore loads
 * it itself. With more, pg_restore writes its script and drd runs it (session-load.ts):
 * pg_restore --jobs would need the dump as a file on disk and still loads each table in
 * one session, while this divides every table's rows among the jobs. The sessions are
 * opened here, before any dump streams: waiting for them with zstd already running would
 * let Node take bytes from zstd's pipe that pg_restore then never sees.
 */
export async function openLoader(target: DatabaseTarget, options: LoadOptions): Promise<Loader> {
  const args = ["--no-password", "--exit-on-error"];
  if (options.noOwner) args.push("--no-owner");
  if (options.noOwner || options.noPrivileges) args.push("--no-acl");
  const sessions: pg.Client[] = [];
  const close = async () => {
    await Promise.allSettled(sessions.map((s) => s.end()));
  };
  try {
    if (options.jobs > 1) for (let i = 0; i < options.jobs; i++) sessions.push(await target.conn.client(target.name));
  } catch (err) {
    await close();
    throw err;
  }
  const load = async (plain: Compression, signal: AbortSignal) => {
    let loaded: Map<string, number> | undefined;
    const result =
      sessions.length === 0
        ? await feedTool("pg_restore", [...args, `--dbname=${target.conn.urlFor(target.name)}`], target, plain, signal)
        : await feedTool("pg_restore", [...args, "--file=-"], target, plain, signal, async (script) => void (loaded = await loadInSessions(restoreScriptParts(script), sessions)));
    if (result.exitCode !== 0) {
      const stderr = target.conn.mask(String(result.stderr ?? "")).trim().slice(-2000).replace(/\s*\n\s*/g, " | ");
      throw new OperationError(`pg_restore ${result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`}: ${stderr}`);
    }
    return loaded;
  };
  return { load, close };
}

/**
 * Replays roles and tablespaces (pg_dumpall --globals-only); existing roles make psql
 * report, not fail. The globals are SQL run through psql, where a backslash command runs
 * anything (`\! cmd` a shell): psql runs them restricted (`\restrict`, psql 17.6, 16.10,
 * 15.14, 14.19, 13.22 and later), so only SQL runs, and a file that tries more is refused.
 * pg_dumpall's own `\restrict`/`\unrestrict` lines are dropped: drd's restriction holds
 * from the first line to the last.
 */
export async function restoreGlobals(target: DatabaseTarget, sql: Compression, signal: AbortSignal): Promise<void> {
  // Read from now on: a child's output left unread is discarded once the child exits.
  // An error on either side reaches the other, so psql's stdin always ends.
  const filtered = new DropRestrictLines();
  pipeline(sql.output, filtered).catch(() => undefined);
  const input = { output: filtered, done: sql.done };
  const args = ["-X", "-q", "--no-password", `--dbname=${target.conn.urlFor(target.conn.defaultDatabase)}`];
  if (await psqlRestricts()) args.push("--command", `\\restrict ${randomBytes(24).toString("hex")}`, "--file=-");
  const result = await feedTool("psql", args, target, input, signal);
  const stderr = target.conn.mask(String(result.stderr ?? "")).trim();
  const refused = /^psql:<stdin>:(\d+): error: backslash commands are restricted/m.exec(stderr);
  if (refused) throw new IntegrityError(`the globals hold a psql command at line ${refused[1]} (a backslash command can run anything on this host); psql refused to run it; restore refused`);
  if (result.exitCode !== 0) throw new OperationError(`restoring globals failed: ${stderr.slice(-2000)}`);
}

let restrictSupport: Promise<boolean> | undefined;
/** Whether this psql has \restrict (the releases of August 2025 and later). */
function psqlRestricts(): Promise<boolean> {
  restrictSupport ??= execa("psql", ["--version"], { reject: false }).then((r) => {
    const m = /(\d+)\.(\d+)/.exec(String(r.stdout));
    if (!m) return false;
    const [major, minor] = [Number(m[1]), Number(m[2])];
    const first: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };
    return major >= 18 || (first[major] !== undefined && minor >= first[major]!);
  });
  return restrictSupport;
}

/** Passes SQL through line by line, without pg_dumpall's `\restrict KEY` and `\unrestrict KEY` lines. */
class DropRestrictLines extends Transform {
  private rest = "";
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + chunk.toString("utf8");
    const cut = text.lastIndexOf("\n") + 1;
    this.rest = text.slice(cut);
    done(null, keep(text.slice(0, cut)));
  }
  override _flush(done: TransformCallback): void {
    done(null, keep(this.rest));
  }
}

const keep = (lines: string) => lines.replace(/^\\(un)?restrict [A-Za-z0-9]+[ \t]*$/gm, "");

/**
 * Runs a PostgreSQL tool with `input` on its stdin: zstd's pipe is handed over as is, so
 * the plain dump goes from zstd to the tool without passing through this process. With
 * `consume`, the tool's stdout goes there, and a consumer that fails stops the tool.
 * Resolves with the tool's result once the input was fully produced; a failed input (a
 * decryption or decompression error) rejects even when the tool exited 0, because the
 * tool then saw a truncated stream.
 */
async function feedTool(tool: string, args: string[], target: DatabaseTarget, input: Compression, signal: AbortSignal, consume?: (stdout: Readable) => Promise<void>): Promise<Result> {
  const direct = hasPipeFd(input.output);
  const proc = execa(tool, args, {
    stdin: direct ? input.output : "pipe",
    buffer: { stdout: false, stderr: true },
    env: target.conn.toolEnv(),
    cancelSignal: signal,
    reject: false,
  });
  // The tool holds its own copy of the pipe; ours must close so zstd sees it break if the tool dies.
  if (direct) input.output.destroy();
  const feeding = direct ? Promise.resolve() : pipeline(input.output, proc.stdin!);
  let stopped = false;
  const consuming = consume?.(proc.stdout!).catch((err: unknown) => {
    stopped = proc.kill();
    throw err;
  });
  const [fed, produced, result, consumed] = await Promise.all([
    feeding.then(noError, asError),
    input.done.then(noError, asError),
    proc,
    consuming?.then(noError, asError),
  ]);
  // Stopped by a signal: that is the cause, not what the tool said as it was terminated.
  if (signal.aborted) throw new OperationError(`interrupted: ${describeError(signal.reason)}`);
  // A corrupt stream is the cause whatever the tool made of it; then the tool's own failure.
  if (produced instanceof IntegrityError) throw produced;
  if (result.exitCode !== 0 && !stopped) return result;
  if (consumed) throw consumed;
  if (result.exitCode === 0 && (produced ?? fed)) throw produced ?? fed;
  return result;
}

const noError = (): undefined => undefined;
const asError = (err: unknown): unknown => err;

/**
 * Compares every table's row count with what the manifest recorded at backup time: the
 * rows the server reported loading when drd ran the load (`loaded`), else count(*), which
 * on a freshly loaded table also reads all of it once.
 */
export async function checkRowCounts(target: DatabaseTarget, expected: DatabaseDetails, loaded?: Map<string, number>): Promise<TableCount[]> {
  const key = (t: TableCount) => `${t.schema}.${t.table}`;
  const toCount = expected.tables.filter((t) => !loaded?.has(key(t)));
  const actual = new Map(loaded);
  if (toCount.length > 0) {
    const db = await target.conn.client(target.name);
    try {
      for (const t of toCount) {
        const r = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).catch(() => undefined);
        actual.set(key(t), r ? Number(r.rows[0]!.n) : -1);
      }
    } finally {
      await db.end();
    }
  }
  const wrong = expected.tables.filter((t) => actual.get(key(t)) !== t.rows);
  if (wrong.length > 0) {
    const shown = wrong.slice(0, 5).map((t) => `${key(t)}: ${actual.get(key(t))} rows, expected ${t.rows}`);
    throw new IntegrityError(`restored row counts differ from the backup's: ${shown.join("; ")}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ""}`);
  }
  return expected.tables;
}

export async function dropDatabase(target: DatabaseTarget): Promise<void> {
  const admin = await target.conn.client(target.conn.defaultDatabase);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(target.name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
