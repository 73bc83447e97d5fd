import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { WAL_POSITIONS_KEPT_MS } from "../app/objectives.js";
import { alertMessage } from "../alerts/message.js";
import { notify } from "../app/notify.js";
import { archiveOpenSegment, archiveSpool, removeStaleOpenSegments, type ArchiveResult, type WalServer } from "../app/wal-archive.js";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError } from "../errors.js";
import { parseLsn, type Lsn } from "../policy/wal.js";
import { segmentBytes } from "../sources/cluster.js";
import { PgConnection } from "../sources/pg-connection.js";
import { slotName, spoolDir } from "../wal/layout.js";
import { ensureSlot, type SlotFound } from "../wal/slot.js";
import type { Logger } from "./logger.js";
import type { Runtime } from "./runtime.js";

/** How often completed segments are moved from the spool to the targets. */
const ARCHIVE_EVERY_MS = 2_000;
/** Restarts of pg_receivewal back off from 1 s to a minute; a run that lasted a minute starts over. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 60_000;
/** How often the server's WAL position is sampled (the RPO of a cluster job is read from the samples). */
const SAMPLE_EVERY_MS = 5_000;
/** How often, at most, a copy of the segment still being written is shipped while it grows. */
const OPEN_SEGMENT_EVERY_MS = 10_000;

/**
 * The cluster a job's WAL chain is of, kept in its spool: the first cluster drd streamed it
 * from (or that of the job's newest base backup). WAL of another cluster behind the same
 * connection never goes into the chain: its segment names would collide with the chain's.
 */
const CLUSTER_FILE = ".system-identifier";

/**
 * The daemon's WAL streams: for each postgres_cluster job, pg_receivewal supervised (with a
 * replication slot drd creates, so a stop or a restart loses nothing: the server keeps the
 * WAL until it was received) and its completed segments archived to every target. Follows
 * reloads: a job added starts, one removed stops, one whose connection changed restarts.
 */
export class WalStreams {
  private readonly streams = new Map<string, WalStream>();

  constructor(
    private readonly runtime: Runtime,
    private readonly log: Logger,
    /** Starts a base backup of the job now: after a slot was lost, the archive's chain may have a gap only a new base backup bridges. */
    private readonly backupNow: (job: string) => void = () => undefined,
  ) {}

  start(): void {
    this.sync();
    this.runtime.onReload(() => this.sync());
  }

  private sync(): void {
    const jobs = Object.entries(this.runtime.ctx.config.jobs).filter((e): e is [string, ClusterJobConfig] => e[1].type === "postgres_cluster");
    const wanted = new Map(jobs.map(([name, job]) => [name, `${job.connection}|${job.password_file ?? ""}`]));
    for (const [name, stream] of this.streams)
      if (wanted.get(name) !== stream.identity) {
        void stream.stop();
        this.streams.delete(name);
      }
    for (const [name, identity] of wanted)
      if (!this.streams.has(name)) {
        const stream = new WalStream(name, identity, this.runtime, this.log, this.backupNow);
        this.streams.set(name, stream);
        stream.start();
      }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    this.streams.clear();
  }
}

class WalStream {
  private readonly stopped = new AbortController();
  private running: Promise<void> | undefined;
  private receiver: ResultPromise | undefined;
  private archiving: Promise<unknown> | undefined;
  private failing = false;
  private sampler: NodeJS.Timeout | undefined;
  private sampling = false;
  /** How far pg_receivewal had flushed, as the server's slot said at the last sample. */
  private flushed: Lsn | undefined;
  private openSegmentShippedAt = 0;
  /** Another cluster answers on the job's connection: told once, until the job's own is back. */
  private otherCluster: string | undefined;

  constructor(
    private readonly job: string,
    readonly identity: string,
    private readonly runtime: Runtime,
    private readonly log: Logger,
    private readonly backupNow: (job: string) => void,
  ) {}

  start(): void {
    this.running = this.supervise();
    this.sampler = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
    void this.sample();
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    this.stopped.abort(new Error("stopping"));
    this.receiver?.kill("SIGTERM");
    await this.running;
  }

  private config(): ClusterJobConfig | undefined {
    const job = this.runtime.ctx.config.jobs[this.job];
    return job?.type === "postgres_cluster" ? job : undefined;
  }

  private async supervise(): Promise<void> {
    let delay = RESTART_MIN_MS;
    while (!this.stopped.signal.aborted) {
      const job = this.config();
      if (!job) return;
      const began = Date.now();
      try {
        await this.receive(job);
        if (!this.stopped.signal.aborted) throw new Error("pg_receivewal exited");
      } catch (err) {
        if (this.stopped.signal.aborted) break;
        this.failed(describeError(err));
      }
      delay = Date.now() - began > RESTART_MAX_MS ? RESTART_MIN_MS : Math.min(delay * 2, RESTART_MAX_MS);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.stopped.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
      });
    }
    // What was received before the stop is archived now, not at the next start.
    await this.archiving;
  }

  /** One run of pg_receivewal, archiving what it completes until it exits. */
  private async receive(job: ClusterJobConfig): Promise<void> {
    const ctx = this.runtime.ctx;
    const dir = spoolDir(ctx.config.state_dir, this.job);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const conn = await PgConnection.open(job.connection, job.password_file);
    const server = await this.server(conn);
    await this.assertSameCluster(dir, server);
    await stopOrphans(dir, this.log);
    const slot = slotName(this.job);
    const common = ["--slot", slot, "--no-password", `--dbname=${conn.url.href}`];
    const found = await ensureSlot(conn, slot);
    if (found !== "kept" && this.streamedBefore(job)) this.slotLost(slot, found);
    // After a failover the spool may end in an open segment of the old timeline: it goes (see
    // removeStaleOpenSegments), so the stream resumes on the server's; completed files stay to be archived.
    if (server.timeline !== undefined) await removeStaleOpenSegments(dir, server.segmentSize, server.timeline);
    // --synchronous: each write is flushed and reported as such, so the server keeps nothing
    // for the slot that is not on this disk; -n: a lost connection ends it, and drd restarts it.
    const receiver = execa("pg_receivewal", ["--directory", dir, "--synchronous", "--no-loop", ...common], {
      env: conn.toolEnv(),
      reject: false,
      stdin: "ignore",
      buffer: { stdout: false, stderr: true },
      cancelSignal: this.stopped.signal,
      forceKillAfterDelay: 5_000,
    });
    this.receiver = receiver;
    this.log.info({ job: this.job, slot, spool: dir }, "receiving WAL");
    const tick = setInterval(() => this.archive(job, server), ARCHIVE_EVERY_MS);
    try {
      const result = await receiver;
      if (!this.stopped.signal.aborted) throw new Error(`pg_receivewal ${result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`}: ${conn.mask(String(result.stderr ?? "")).trim().slice(-500)}`);
    } finally {
      clearInterval(tick);
      this.receiver = undefined;
      this.archive(job, server);
    }
  }

  private async server(conn: PgConnection): Promise<WalServer & { timeline: number | undefined }> {
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
  private async assertSameCluster(dir: string, server: WalServer): Promise<void> {
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
      // One alert for it, not a wal_failed as well: the stream stays down until it is settled.
      this.failing = true;
      const ctx = this.runtime.ctx;
      ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_cluster_changed", job: this.job, detail });
      notify(ctx, alertMessage("wal_cluster_changed", this.job, `WAL of ${this.job} is not archived: ${detail}`, { system_identifier: server.systemIdentifier, expected: known }, ctx.now()));
    }
    throw new Error(detail);
  }

  /** Whether drd archived WAL of this job before: then a slot that is gone was lost, not yet made. */
  private streamedBefore(job: ClusterJobConfig): boolean {
    return job.targets.some((t) => this.runtime.ctx.catalog.walSegments(this.job, t).length > 0);
  }

  /**
   * The job's slot was gone (a failover, a promoting restore, a drop) or had lost WAL, though
   * drd streamed through it before: WAL written meanwhile may be missing from the archive, so
   * restores past that point are not assured. Told (wal_slot_lost), the slot made again (done
   * by then), and a base backup started at once: from it on the chain is whole again.
   */
  private slotLost(slot: string, found: Exclude<SlotFound, "kept">): void {
    const ctx = this.runtime.ctx;
    const detail = found === "lost" ? `the replication slot ${slot} had lost WAL (wal_status lost)` : `the replication slot ${slot} was gone from the server (a failover or a restore promoted elsewhere?)`;
    this.log.warn({ job: this.job, slot, found }, "the replication slot was lost; made again, and a base backup started");
    ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_slot_lost", job: this.job, detail });
    notify(ctx, alertMessage("wal_slot_lost", this.job, `${detail}: made again; WAL from before may be missing from the archive, so a base backup of ${this.job} is taken now`, { slot, found }, ctx.now()));
    this.backupNow(this.job);
  }

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
        const { rows } = await client.query<{ lsn: string; flushed: string | null }>(
          "SELECT pg_current_wal_lsn()::text AS lsn, (SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1) AS flushed",
          [slotName(this.job)],
        );
        const ctx = this.runtime.ctx;
        ctx.catalog.recordWalPosition(this.job, at, rows[0]!.lsn, at - WAL_POSITIONS_KEPT_MS);
        if (rows[0]!.flushed) this.flushed = parseLsn(rows[0]!.flushed);
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (err) {
      this.log.debug({ job: this.job, error: describeError(err) }, "sampling the WAL position failed");
    } finally {
      this.sampling = false;
    }
  }

  /** Starts one archiving pass unless one runs; its failures are logged, never thrown. */
  private archive(job: ClusterJobConfig, server: WalServer): void {
    if (this.archiving) return;
    this.archiving = this.archivePass(job, server)
      .then((r) => {
        if (r.stored.length > 0) this.log.info({ job: this.job, stored: r.stored }, "WAL archived");
        for (const f of r.failed) this.log.warn({ job: this.job, ...f }, "WAL file not stored on a target; tried again");
        const first = r.failed[0];
        if (first) this.failed(`WAL file ${first.name} could not be stored on ${first.target}: ${first.error}`);
        // Well again once pg_receivewal runs and a pass stored everything it found.
        else if (this.failing && this.receiver) this.recovered();
      })
      .catch((err: unknown) => this.log.error({ job: this.job, error: describeError(err) }, "archiving WAL failed"))
      .finally(() => (this.archiving = undefined));
  }

  /**
   * Completed segments, then (every few seconds, while it grows) a copy of the open one up to
   * where the slot says pg_receivewal flushed: read before the copy is made, so it holds that much.
   */
  private async archivePass(job: ClusterJobConfig, server: WalServer): Promise<ArchiveResult> {
    const ctx = this.runtime.ctx;
    const whole = await archiveSpool(ctx, this.job, job, server, this.runtime.stopping);
    const flushed = this.flushed;
    if (flushed === undefined || Date.now() - this.openSegmentShippedAt < OPEN_SEGMENT_EVERY_MS) return whole;
    this.openSegmentShippedAt = Date.now();
    const open = await archiveOpenSegment(ctx, this.job, job, server, flushed, this.runtime.stopping);
    return { stored: [...whole.stored, ...open.stored], failed: [...whole.failed, ...open.failed] };
  }

  /** Told once per outage: the log every time, the catalog's events and the alert channels once. */
  private failed(error: string): void {
    this.log.error({ job: this.job, error }, "WAL archiving is failing; trying again");
    if (this.failing) return;
    this.failing = true;
    const ctx = this.runtime.ctx;
    ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_failed", job: this.job, detail: error });
    notify(ctx, alertMessage("wal_failed", this.job, `WAL archiving of ${this.job} is failing (its RPO grows until it works again): ${error}`, { error }, ctx.now()));
  }

  private recovered(): void {
    this.failing = false;
    const ctx = this.runtime.ctx;
    ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_recovered", job: this.job });
    notify(ctx, alertMessage("wal_recovered", this.job, `WAL archiving of ${this.job} works again`, {}, ctx.now()));
  }
}

/**
 * A pg_receivewal still writing into this spool: left by a daemon that was killed outright
 * (its children live on). It holds the slot, so a new one could not start: it is stopped,
 * SIGTERM then SIGKILL, and what it wrote is archived as usual.
 */
async function stopOrphans(dir: string, log: Logger): Promise<void> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (argv.some((a) => a.endsWith("pg_receivewal")) && argv.includes("--directory") && argv[argv.indexOf("--directory") + 1] === dir) pids.push(Number(entry));
  }
  for (const pid of pids) {
    log.warn({ pid, spool: dir }, "stopping a pg_receivewal left by an earlier daemon");
    signal(pid, "SIGTERM");
  }
  const deadline = Date.now() + 5_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) signal(pid, "SIGKILL");
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already, or not ours to stop (then starting ours fails, and says why)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
