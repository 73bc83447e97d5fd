import { once } from "node:events";
import { pipeline, Transform, type TransformCallback } from "node:stream";
import { execa } from "execa";
import * as tar from "tar";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError, OperationError } from "../errors.js";
import { RESTORE_POINT_TABLES, type ClusterDetails, type RestorePoint, type TableCount } from "../manifest.js";
import { checkSegmentSize, formatLsn, parseLsn } from "../policy/wal.js";
import { ensureSlot } from "../wal/slot.js";
import { PgConnection } from "./pg-connection.js";
import { settled } from "./postgres.js";
import type { SourceContext, SourceResult } from "./source.js";

/** pg_basebackup writes the backup manifest (PostgreSQL 13 on) as the tar's last member. */
const BACKUP_MANIFEST = "backup_manifest";
/** Its WAL-Ranges close it: this much of its end holds them, however many files it lists. */
const MANIFEST_TAIL = 64 << 10;

/**
 * A physical base backup of the whole cluster: `pg_basebackup -D - -Ft -X none`, one tar
 * streamed through the pipeline as it comes. Without WAL (-X none) the backup is consistent
 * only with the WAL from its start to its end LSN, which the manifest records from the
 * backup's own backup_manifest. A cluster with tablespaces outside the data directory is
 * refused: pg_basebackup writes only one tablespace to a stream.
 */
export async function backupCluster(job: ClusterJobConfig, ctx: SourceContext, slot: string | undefined, backupId: string): Promise<SourceResult> {
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    const server = await describeServer(conn);
    // The slot first: the server then keeps this backup's WAL for the stream, however late it starts.
    // (In archive mode the server keeps each WAL file until archive_command took it.)
    const slotFound = slot ? await ensureSlot(conn, slot) : undefined;
    const basebackup = execa(
      "pg_basebackup",
      ["--pgdata=-", "--format=tar", "--wal-method=none", "--checkpoint=fast", "--no-password", "--label=drd", `--dbname=${conn.url.href}`],
      { buffer: { stdout: false, stderr: true }, stdin: "ignore", env: conn.toolEnv(), cancelSignal: ctx.signal, reject: false },
    );
    const reader = new WalRangeReader();
    // pipeline, not pipe: a sink that gives up destroys pg_basebackup's stdout too, so it exits.
    const raw = pipeline(basebackup.stdout, reader, () => undefined);
    const artifact = ctx.sink.write({ baseName: "base.tar", role: "base", format: "tar" }, raw, () => settled(basebackup, "pg_basebackup", conn));
    const [a, b] = await Promise.allSettled([artifact, settled(basebackup, "pg_basebackup", conn)]);
    if (b.status === "rejected") throw b.reason;
    if (a.status === "rejected") throw a.reason;
    const range = reader.range();
    const restore_point = await makeRestorePoint(conn, restorePointName(backupId));
    const cluster: ClusterDetails = { ...server, timeline: range.timeline, start_lsn: formatLsn(range.start), end_lsn: formatLsn(range.end), restore_point };
    return { kind: "postgres_cluster", cluster, ...(slotFound ? { slot: slotFound } : {}) };
  } finally {
    await conn.close();
  }
}

/** How long the restore point waits for writers to finish with the tables it counts. */
const LOCK_TIMEOUT = "5s";

/** `drd_<backup id>`, within PostgreSQL's 63 characters (a long job name loses its start, never the time and suffix that make it unique). */
export function restorePointName(backupId: string): string {
  return `drd_${backupId.length <= 59 ? backupId : backupId.slice(-59)}`;
}

/**
 * A named restore point right after the base backup, with the exact row counts of the job
 * database's user tables there, for a drill restored to that point to compare. Exact: one
 * session locks the tables IN SHARE MODE (it waits for the writers in flight to commit, and
 * holds new ones back only until it commits), then takes its snapshot and makes the restore
 * point in one statement, so both see the same committed rows; a second session adopts that
 * snapshot and counts while the first commits and the writers go on. Locks not had within
 * 5 s, or a role that may not take them, leave the point without counts; a role that may not
 * make one, no point. Never fails the backup. Unlogged tables are left out: recovery empties them.
 */
export async function makeRestorePoint(conn: PgConnection, name: string): Promise<RestorePoint> {
  const database = conn.defaultDatabase;
  const locker = await conn.client(database);
  let counter: Awaited<ReturnType<PgConnection["client"]>> | undefined;
  try {
    // Listed outside the locking transaction: its snapshot must be taken after the locks.
    const { rows: all } = await locker.query<{ schema: string; table: string }>(
      `SELECT n.nspname::text AS schema, c.relname::text AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    );
    const tables = all.slice(0, RESTORE_POINT_TABLES);
    const qualified = (t: { schema: string; table: string }) => `${locker.escapeIdentifier(t.schema)}.${locker.escapeIdentifier(t.table)}`;
    let point: { snapshot: string; lsn: string } | undefined;
    let why = "";
    try {
      await locker.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      await locker.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      if (tables.length > 0) await locker.query(`LOCK TABLE ${tables.map(qualified).join(", ")} IN SHARE MODE`);
      const { rows } = await locker.query<{ snapshot: string; lsn: string }>("SELECT pg_export_snapshot() AS snapshot, pg_create_restore_point($1)::text AS lsn", [name]);
      point = rows[0]!;
    } catch (err) {
      await locker.query("ROLLBACK").catch(() => undefined);
      const code = (err as { code?: string }).code;
      why =
        code === "55P03"
          ? `the tables could not be locked within ${LOCK_TIMEOUT} (a writer held one longer)`
          : code === "42501" && /lock|relation|table/i.test(describeError(err))
            ? `the role may not lock the tables IN SHARE MODE (it needs UPDATE, DELETE or TRUNCATE on them, or to own them): ${conn.mask(describeError(err))}`
            : conn.mask(describeError(err));
    }
    if (!point) {
      // The point alone, without counts: still a place a drill and a restore can name.
      try {
        const { rows } = await locker.query<{ lsn: string }>("SELECT pg_create_restore_point($1)::text AS lsn", [name]);
        return { state: "uncounted", name, lsn: formatLsn(parseLsn(rows[0]!.lsn)), database, reason: why };
      } catch (err) {
        return { state: "none", reason: `no restore point: ${conn.mask(describeError(err))}` };
      }
    }
    const lsn = formatLsn(parseLsn(point.lsn));
    try {
      counter = await conn.client(database);
      await counter.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      await counter.query(`SET TRANSACTION SNAPSHOT '${point.snapshot.replace(/'/g, "''")}'`);
      // The snapshot is the counter's now: the writers may go on.
      await locker.query("COMMIT");
      const counted: TableCount[] = [];
      for (const t of tables) {
        const { rows } = await counter.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(t)}`);
        counted.push({ schema: t.schema, table: t.table, rows: Number(rows[0]!.n) });
      }
      await counter.query("COMMIT");
      return { state: "counted", name, lsn, database, tables: counted, tables_total: all.length };
    } catch (err) {
      await locker.query("ROLLBACK").catch(() => undefined);
      return { state: "uncounted", name, lsn, database, reason: `counting the rows failed: ${conn.mask(describeError(err))}` };
    }
  } finally {
    await locker.end().catch(() => undefined);
    await counter?.end().catch(() => undefined);
  }
}

/** What a backup's output says of its restore point, when it falls short; undefined when it is complete. */
export function restorePointWarning(p: RestorePoint | undefined): string | undefined {
  if (!p) return undefined;
  if (p.state === "none") return p.reason;
  if (p.state === "uncounted") return `restore point ${p.name} at ${p.lsn} has no row counts: ${p.reason}`;
  if (p.tables_total > p.tables.length) return `restore point ${p.name}: the first ${p.tables.length} of ${p.tables_total} tables of ${p.database} counted (the cap)`;
  return undefined;
}

async function describeServer(conn: PgConnection): Promise<Omit<ClusterDetails, "timeline" | "start_lsn" | "end_lsn">> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const { rows } = await client.query<{ num: string; sysid: string; seg: string; superuser: string; tablespaces: string[] | null }>(
      `SELECT current_setting('server_version_num') AS num,
              (SELECT rolname::text FROM pg_roles WHERE oid = 10) AS superuser,
              (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
              current_setting('wal_segment_size') AS seg,
              (SELECT array_agg(spcname::text ORDER BY spcname) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')) AS tablespaces`,
    );
    const row = rows[0]!;
    if (Number(row.num) < 130000) throw new OperationError(`PostgreSQL ${row.num} has no backup manifest: cluster jobs need PostgreSQL 13 or later`);
    if (row.tablespaces?.length)
      throw new OperationError(`the cluster has tablespaces outside its data directory (${row.tablespaces.join(", ")}): cluster jobs back up clusters without them; back these up with a postgres (pg_dump) job`);
    return { server_version_num: Number(row.num), system_identifier: row.sysid, wal_segment_size: checkSegmentSize(segmentBytes(row.seg)), superuser: row.superuser };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `wal_segment_size` as current_setting gives it ("16MB"). */
export function segmentBytes(setting: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)?$/.exec(setting.trim());
  if (!m) throw new OperationError(`wal_segment_size is ${JSON.stringify(setting)}, not a size`);
  return Number(m[1]) * { kB: 1 << 10, MB: 1 << 20, GB: 1 << 30, "": 1 }[m[2] ?? ""]!;
}

/** The WAL range a backup manifest's end states ("WAL-Ranges": [{ "Timeline": 1, "Start-LSN": ..., "End-LSN": ... }]). */
export function walRangeOf(manifestTail: string): { timeline: number; start: bigint; end: bigint } {
  const ranges = /"WAL-Ranges"\s*:\s*\[([^\]]*)\]/.exec(manifestTail)?.[1];
  if (ranges === undefined) throw new OperationError("pg_basebackup's backup_manifest states no WAL range");
  const items = [...ranges.matchAll(/\{\s*"Timeline"\s*:\s*(\d+)\s*,\s*"Start-LSN"\s*:\s*"([^"]+)"\s*,\s*"End-LSN"\s*:\s*"([^"]+)"\s*\}/g)];
  // A backup that spans a timeline switch (taken from a standby being promoted) is not one this job restores.
  if (items.length !== 1) throw new OperationError(`pg_basebackup's backup_manifest states ${items.length} WAL ranges; a cluster job takes backups on one timeline`);
  const [, timeline, start, end] = items[0]!;
  return { timeline: Number(timeline), start: parseLsn(start!), end: parseLsn(end!) };
}

/** Passes pg_basebackup's tar through and keeps the end of its backup_manifest member. */
class WalRangeReader extends Transform {
  private readonly parser = new tar.Parser({ strict: true, onReadEntry: (e) => this.onEntry(e) });
  private parseError: Error | undefined;
  private tail: Buffer | undefined;

  constructor() {
    super();
    this.parser.on("error", (err: unknown) => (this.parseError = err as Error));
  }

  private onEntry(e: tar.ReadEntry): void {
    if (e.path !== BACKUP_MANIFEST) {
      e.resume();
      return;
    }
    let tail = Buffer.alloc(0);
    e.on("data", (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > 2 * MANIFEST_TAIL) tail = tail.subarray(tail.length - MANIFEST_TAIL);
    });
    void once(e, "end").then(() => (this.tail = tail));
  }

  range(): ReturnType<typeof walRangeOf> {
    if (this.parseError) throw new OperationError(`pg_basebackup's output is not a tar: ${this.parseError.message}`);
    if (!this.tail) throw new OperationError("pg_basebackup's output has no backup_manifest (PostgreSQL 13 or later writes one)");
    return walRangeOf(this.tail.toString("utf8"));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.parser.write(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.parser.end(() => done());
  }
}
