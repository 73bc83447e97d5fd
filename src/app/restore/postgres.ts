import { createWriteStream } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { execa, type Result } from "execa";
import type { PostgresJobConfig } from "../../config/schema.js";
import { IntegrityError, OperationError, UsageError } from "../../errors.js";
import type { ArtifactEntry, DatabaseDetails, Manifest, TableCount } from "../../manifest.js";
import type { Compression } from "../../pipeline/compress.js";
import { hasPipeFd } from "../../pipeline/pipe-fd.js";
import { PgConnection } from "../../sources/pg-connection.js";

export interface DatabaseTarget {
  conn: PgConnection;
  name: string;
  created: boolean;
}

/** Creates `name` on the job's server, or reuses it when empty (or with `clean`); never a live database by accident. */
export async function prepareDatabase(job: PostgresJobConfig, name: string, clean: boolean): Promise<DatabaseTarget> {
  const conn = await PgConnection.open(job.connection, job.password_file);
  const admin = await conn.client(conn.defaultDatabase);
  try {
    const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1;
    if (!exists) {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      return { conn, name, created: true };
    }
  } finally {
    await admin.end();
  }
  const db = await conn.client(name);
  try {
    const tables = Number(
      (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)).rows[0]!.n,
    );
    if (tables > 0 && !clean) throw new UsageError(`database "${name}" exists and has ${tables} table(s); restore into a new name, or pass --clean to replace its contents`);
  } finally {
    await db.end();
  }
  return { conn, name, created: false };
}

/**
 * What pg_restore reads: the plain dump as a stream (one process, loading while the backup
 * still downloads), or as a file, which lets pg_restore load tables and build indexes in
 * `jobs` parallel sessions (a custom-format dump must be seekable for that).
 */
export type DumpFile = { file: string; jobs: number };
export type DumpInput = { stream: Compression } | DumpFile;

/** pg_restore into `target`; stops at the first error. */
export async function pgRestore(target: DatabaseTarget, dump: DumpInput, clean: boolean, noOwner: boolean, signal: AbortSignal): Promise<void> {
  const args = ["--no-password", "--exit-on-error", `--dbname=${target.conn.urlFor(target.name)}`];
  if (clean) args.push("--clean", "--if-exists");
  if (noOwner) args.push("--no-owner", "--no-acl");
  const result =
    "stream" in dump ? await feedTool("pg_restore", args, target, dump.stream, signal) : await feedTool("pg_restore", [...args, `--jobs=${dump.jobs}`, dump.file], target, undefined, signal);
  if (result.exitCode !== 0) {
    const stderr = target.conn.mask(String(result.stderr ?? "")).trim().slice(-2000).replace(/\s*\n\s*/g, " | ");
    throw new OperationError(`pg_restore ${result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`}: ${stderr}`);
  }
}

/** Writes the decompressed dump to `path` (for pg_restore --jobs); a decompression or decryption failure is the error. */
export async function writePlainDump(plain: Compression, path: string): Promise<void> {
  const [written, produced] = await Promise.allSettled([pipeline(plain.output, createWriteStream(path, { flags: "wx", mode: 0o600 })), plain.done]);
  if (produced.status === "rejected") throw produced.reason;
  if (written.status === "rejected") throw new OperationError(`cannot write the plain dump for pg_restore --jobs to ${path}: ${(written.reason as NodeJS.ErrnoException).code ?? written.reason}`);
}

/**
 * pg_restore --jobs reads a plain dump from the work directory, beside the downloaded
 * artifact. The database's size at backup time stands in for the dump's size (a dump holds
 * no indexes, so it is usually smaller): refusing up front beats a full disk mid-restore.
 */
export async function assertRoomForPlainDump(work: string, manifest: Extract<Manifest, { kind: "postgres" }>, artifact: ArtifactEntry): Promise<void> {
  const database = manifest.postgres.databases.find((d) => d.name === artifact.database);
  const needed = (database?.size_bytes ?? 0) + artifact.size;
  const fs = await statfs(work);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
    throw new OperationError(
      `--jobs writes the plain dump beside the download in ${dirname(work)}: about ${mib(needed)} needed (the database was ${mib(database?.size_bytes ?? 0)}), ${mib(free)} free; restore without --jobs (it streams), or free space`,
    );
  }
}

/** Replays roles and tablespaces (pg_dumpall --globals-only); existing roles make psql report, not fail. */
export async function restoreGlobals(target: DatabaseTarget, sql: Compression, signal: AbortSignal): Promise<void> {
  const args = ["-X", "-q", "--no-password", `--dbname=${target.conn.urlFor(target.conn.defaultDatabase)}`];
  const result = await feedTool("psql", args, target, sql, signal);
  if (result.exitCode !== 0) throw new OperationError(`restoring globals failed: ${target.conn.mask(String(result.stderr)).trim().slice(-2000)}`);
}

/**
 * Runs a PostgreSQL tool with `input` on its stdin (or nothing, when the tool reads a
 * file): zstd's pipe is handed over as is, so the plain dump goes from zstd to pg_restore
 * without passing through this process. Resolves with the tool's result once the input
 * was fully produced; a failed input (a decryption or decompression error) rejects even
 * when the tool exited 0, because the tool then saw a truncated stream.
 */
async function feedTool(tool: string, args: string[], target: DatabaseTarget, input: Compression | undefined, signal: AbortSignal): Promise<Result> {
  const direct = input !== undefined && hasPipeFd(input.output);
  const proc = execa(tool, args, {
    stdin: input === undefined ? "ignore" : direct ? input.output : "pipe",
    buffer: { stdout: false, stderr: true },
    env: target.conn.toolEnv(),
    cancelSignal: signal,
    reject: false,
  });
  if (!input) return proc;
  // The tool holds its own copy of the pipe; ours must close so zstd sees it break if the tool dies.
  if (direct) input.output.destroy();
  const feeding = direct ? Promise.resolve() : pipeline(input.output, proc.stdin!);
  const [fed, produced, result] = await Promise.all([feeding.then(noError, asError), input.done.then(noError, asError), proc]);
  // A corrupt stream is the cause whatever the tool made of it.
  if (produced instanceof IntegrityError) throw produced;
  if (result.exitCode === 0 && (produced ?? fed)) throw produced ?? fed;
  return result;
}

const noError = (): undefined => undefined;
const asError = (err: unknown): unknown => err;

/** Compares every table's row count with what the manifest recorded at backup time. */
export async function checkRowCounts(target: DatabaseTarget, expected: DatabaseDetails): Promise<TableCount[]> {
  const db = await target.conn.client(target.name);
  try {
    const actual = new Map<string, number>();
    for (const t of expected.tables) {
      const r = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).catch(() => undefined);
      actual.set(`${t.schema}.${t.table}`, r ? Number(r.rows[0]!.n) : -1);
    }
    const wrong = expected.tables.filter((t) => actual.get(`${t.schema}.${t.table}`) !== t.rows);
    if (wrong.length > 0) {
      const shown = wrong.slice(0, 5).map((t) => `${t.schema}.${t.table}: ${actual.get(`${t.schema}.${t.table}`)} rows, expected ${t.rows}`);
      throw new IntegrityError(`restored row counts differ from the backup's: ${shown.join("; ")}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ""}`);
    }
    return expected.tables;
  } finally {
    await db.end();
  }
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
