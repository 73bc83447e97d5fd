import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alertMessage } from "../alerts/message.js";
import { notify } from "../app/notify.js";
import { WAL_POSITIONS_KEPT_MS } from "../app/objectives.js";
import type { ArchiveResult, WalServer } from "../app/wal-archive.js";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError } from "../errors.js";
import { segmentBytes } from "../sources/cluster.js";
import { PgConnection } from "../sources/pg-connection.js";
import { slotName } from "../wal/layout.js";
import type { Logger } from "./logger.js";
import type { Runtime } from "./runtime.js";

/** How often the server's WAL position is sampled (the RPO of a cluster job is read from the samples). */
const SAMPLE_EVERY_MS = 5_000;

/**
 * The cluster a job's WAL chain is of, kept in its spool: the first cluster drd took its WAL
 * from (or that of the job's newest base backup). WAL of another cluster behind the same
 * connection never goes into the chain: its segment names would collide with the chain's.
 */
const CLUSTER_FILE = ".system-identifier";

/** What one sample read of the server. */
export interface WalSample {
  /** Where the server's WAL is now. */
  lsn: string;
  /** How far the receiver on the job's slot wrote, as it last told the server (stream mode). */
  receiverWrote: string | null;
  /** The server's archiver, when its archive_command failed since it last succeeded (archive mode). */
  archiverFailing: { wal: string; at: string } | null;
}

/**
 * What both ways of getting a cluster job's WAL share: the job's config as in force now,
 * the server's identity, sampling the server's WAL position, and telling once per outage
 * that archiving fails and once that it works again.
 */
export abstract class WalJob {
  protected readonly stopped = new AbortController();
  private sampler: NodeJS.Timeout | undefined;
  private sampling = false;
  protected failing = false;
  /** Another cluster answers on the job's connection: told once, until the job's own is back. */
  private otherCluster: string | undefined;

  constructor(
    protected readonly job: string,
    readonly identity: string,
    protected readonly runtime: Runtime,
    protected readonly log: Logger,
  ) {}

  start(): void {
    this.sampler = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
    void this.sample();
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    this.stopped.abort(new Error("stopping"));
  }

  protected config(): ClusterJobConfig | undefined {
    const job = this.runtime.ctx.config.jobs[this.job];
    return job?.type === "postgres_cluster" ? job : undefined;
  }

  protected async server(conn: PgConnection): Promise<WalServer & { timeline: number | undefined }> {
    const client = await conn.client(conn.defaultDatabase);
    try {
      // The timeline WAL is written on now (none on a standby, where pg_current_wal_lsn fails).
      const { rows } = await client.query<{ id: string; size: string; file: string | null }>(
        `SELECT system_identifier::text AS id, current_setting('wal_segment_size', true) AS size,
                CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS file
           FROM pg_control_system()`,
      );
      const file = rows[0]!.file;
      return { systemIdentifier: rows[0]!.id, segmentSize: segmentBytes(rows[0]!.size), timeline: file ? Number.parseInt(file.slice(0, 8), 16) : undefined };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * The server must be the cluster the job's WAL chain is of (its system identifier, as the
   * spool keeps it): another one (a new cluster behind the same address, a pg_upgrade) is
   * told once as wal_cluster_changed and nothing of it is received or archived, until the
   * job's own cluster answers again or the operator removes the spool's record of it.
   */
  protected async assertSameCluster(dir: string, server: WalServer): Promise<void> {
    const file = join(dir, CLUSTER_FILE);
    let known = (await readFile(file, "utf8").catch(() => "")).trim();
    if (known === "") {
      const newest = this.runtime.ctx.catalog.newestBackup(this.job);
      known = newest ? ((JSON.parse(newest.manifest) as { cluster?: { system_identifier?: string } }).cluster?.system_identifier ?? server.systemIdentifier) : server.systemIdentifier;
      await writeFile(file, `${known}\n`, { mode: 0o600 });
    }
    if (known === server.systemIdentifier) {
      this.otherCluster = undefined;
      return;
    }
    const detail = `the server on ${this.job}'s connection is another cluster (system identifier ${server.systemIdentifier}, not ${known}): its WAL is not archived into the job's chain; point the connection back at the job's cluster, or, to make the job follow the new one, remove ${file}`;
    if (this.otherCluster !== server.systemIdentifier) {
      this.otherCluster = server.systemIdentifier;
      // One alert for it, not a wal_failed as well: nothing of it is archived until it is settled.
      this.failing = true;
      const ctx = this.runtime.ctx;
      ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_cluster_changed", job: this.job, detail });
      notify(ctx, alertMessage("wal_cluster_changed", this.job, `WAL of ${this.job} is not archived: ${detail}`, { system_identifier: server.systemIdentifier, expected: known }, ctx.now()));
    }
    throw new Error(detail);
  }

  /** What a sample found, for the mode to act on. */
  protected abstract sampled(sample: WalSample): void;

  /** Records where the server's WAL is now; a server that cannot be asked leaves a gap in the samples, no more. */
  private async sample(): Promise<void> {
    const job = this.config();
    if (!job || this.sampling || this.stopped.signal.aborted) return;
    this.sampling = true;
    try {
      const conn = await PgConnection.open(job.connection, job.password_file);
      const client = await conn.client(conn.defaultDatabase);
      try {
        const at = Date.now();
        // pg_stat_archiver keeps the last failure after later successes: it counts only while newer than the last success.
        const { rows } = await client.query<{ lsn: string; written: string | null; failed_wal: string | null; failed_at: string | null; failing: boolean | null }>(
          `SELECT pg_current_wal_lsn()::text AS lsn,
                  (SELECT r.write_lsn::text FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1) AS written,
                  a.last_failed_wal AS failed_wal, a.last_failed_time::text AS failed_at,
                  a.last_failed_time > coalesce(a.last_archived_time, '-infinity') AS failing
             FROM pg_stat_archiver a`,
          [slotName(this.job)],
        );
        const row = rows[0]!;
        this.runtime.ctx.catalog.recordWalPosition(this.job, at, row.lsn, at - WAL_POSITIONS_KEPT_MS);
        this.sampled({
          lsn: row.lsn,
          receiverWrote: row.written,
          archiverFailing: row.failing && row.failed_wal && row.failed_at ? { wal: row.failed_wal, at: row.failed_at } : null,
        });
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (err) {
      this.log.debug({ job: this.job, error: describeError(err) }, "sampling the WAL position failed");
    } finally {
      this.sampling = false;
    }
  }

  /** Logs what an archiving pass did; a target that refused a file is a failure, told once. */
  protected report(r: ArchiveResult, wellAgain: boolean): void {
    if (r.stored.length > 0) this.log.info({ job: this.job, stored: r.stored }, "WAL archived");
    for (const f of r.failed) this.log.warn({ job: this.job, ...f }, "WAL file not stored on a target; tried again");
    const first = r.failed[0];
    if (first) this.failed(`WAL file ${first.name} could not be stored on ${first.target}: ${first.error}`);
    else if (this.failing && wellAgain) this.recovered();
  }

  /** Told once per outage: the log every time, the catalog's events and the alert channels once. */
  protected failed(error: string): void {
    this.log.error({ job: this.job, error }, "WAL archiving is failing; trying again");
    if (this.failing) return;
    this.failing = true;
    const ctx = this.runtime.ctx;
    ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_failed", job: this.job, detail: error });
    notify(ctx, alertMessage("wal_failed", this.job, `WAL archiving of ${this.job} is failing (its RPO grows until it works again): ${error}`, { error }, ctx.now()));
  }

  protected recovered(): void {
    this.failing = false;
    const ctx = this.runtime.ctx;
    ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_recovered", job: this.job });
    notify(ctx, alertMessage("wal_recovered", this.job, `WAL archiving of ${this.job} works again`, {}, ctx.now()));
  }
}
