import { mkdir, readdir, readFile } from "node:fs/promises";
import { execa, type ResultPromise } from "execa";
import { archiveOpenSegment, archiveSpool, removeStaleOpenSegments, type ArchiveResult, type WalServer } from "../app/wal-archive.js";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError } from "../errors.js";
import { parseLsn, type Lsn } from "../policy/wal.js";
import { PgConnection } from "../sources/pg-connection.js";
import { slotName, spoolDir } from "../wal/layout.js";
import { dutiesOf } from "../policy/role.js";
import { ensureSlot, type SlotFound } from "../wal/slot.js";
import { slotWasLost, tellSlotLost } from "../app/slot-lost.js";
import type { Logger } from "./logger.js";
import type { Runtime } from "./runtime.js";
import { WalArchiver } from "./wal-archiver.js";
import { WalJob, type WalSample } from "./wal-job.js";

/** How often completed segments are moved from the spool to the targets. */
const ARCHIVE_EVERY_MS = 2_000;
/** Restarts of pg_receivewal back off from 1 s to a minute; a run that lasted a minute starts over. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 60_000;
/** How often, at most, a copy of the segment still being written is shipped while it grows. */
const OPEN_SEGMENT_EVERY_MS = 10_000;

/**
 * The daemon's WAL of every postgres_cluster job, as its `wal.mode` says: streamed (pg_receivewal
 * with a replication slot drd creates, so a stop or a restart loses nothing: the server keeps
 * the WAL until it was received) or handed over by the server's archive_command; either way
 * archived to every target. Follows reloads: a job added starts, one removed stops, one whose
 * connection or mode changed restarts.
 */
export class WalStreams {
  private readonly streams = new Map<string, WalJob>();

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
    const { config } = this.runtime.ctx;
    // A drill host never touches the server's WAL or slots: it streams nothing.
    const jobs = dutiesOf(config.role).wal ? Object.entries(config.jobs).filter((e): e is [string, ClusterJobConfig] => e[1].type === "postgres_cluster") : [];
    const wanted = new Map(jobs.map(([name, job]) => [name, JSON.stringify([job.connection, job.password_file ?? "", job.wal])]));
    for (const [name, stream] of this.streams)
      if (wanted.get(name) !== stream.identity) {
        void stream.stop();
        this.streams.delete(name);
      }
    for (const [name, identity] of wanted)
      if (!this.streams.has(name)) {
        const wal = this.runtime.ctx.config.jobs[name] as ClusterJobConfig;
        const stream = wal.wal.mode === "archive" ? new WalArchiver(name, identity, this.runtime, this.log) : new WalStream(name, identity, this.runtime, this.log, this.backupNow);
        this.streams.set(name, stream);
        stream.start();
      }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    this.streams.clear();
  }
}

/** Stream mode: pg_receivewal, supervised, writing into the job's spool. */
class WalStream extends WalJob {
  private running: Promise<void> | undefined;
  private receiver: ResultPromise | undefined;
  private archiving: Promise<unknown> | undefined;
  /** How far pg_receivewal had written, as it told the server by the last sample. */
  private written: Lsn | undefined;
  private openSegmentShippedAt = 0;

  constructor(job: string, identity: string, runtime: Runtime, log: Logger, private readonly backupNow: (job: string) => void) {
    super(job, identity, runtime, log);
  }

  override start(): void {
    this.running = this.supervise();
    super.start();
  }

  override async stop(): Promise<void> {
    await super.stop();
    this.receiver?.kill("SIGTERM");
    await this.running;
  }

  protected sampled(sample: WalSample): void {
    if (sample.receiverWrote) this.written = parseLsn(sample.receiverWrote);
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
    if (slotWasLost(ctx, this.job, job, found)) this.slotLost(slot, found);
    // After a failover the spool may end in an open segment of the old timeline: it goes (see
    // removeStaleOpenSegments), so the stream resumes on the server's; completed files stay to be archived.
    if (server.timeline !== undefined) await removeStaleOpenSegments(dir, server.segmentSize, server.timeline);
    // Not --synchronous (an fsync per message cost 3x its CPU): each segment is synced when it
    // completes, and the slot keeps the server's WAL from the last synced one, so a crash of
    // this machine loses nothing the server cannot send again. Its write position, reported
    // every second (-s 1), says how much of the open segment a partial copy holds.
    // -n: a lost connection ends it, and drd restarts it.
    const receiver = execa("pg_receivewal", ["--directory", dir, "--status-interval=1", "--no-loop", ...common], {
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

  /** The slot was lost though drd streamed through it before: told, and a base backup started at once (from it on the chain is whole again). */
  private slotLost(slot: string, found: Exclude<SlotFound, "kept">): void {
    this.log.warn({ job: this.job, slot, found }, "the replication slot was lost; made again, and a base backup started");
    tellSlotLost(this.runtime.ctx, this.job, slot, found, `a base backup of ${this.job} is taken now`);
    this.backupNow(this.job);
  }

  /** Starts one archiving pass unless one runs; its failures are logged, never thrown. */
  private archive(job: ClusterJobConfig, server: WalServer): void {
    if (this.archiving) return;
    this.archiving = this.archivePass(job, server)
      // Well again once pg_receivewal runs and a pass stored everything it found.
      .then((r) => this.report(r, this.receiver !== undefined))
      .catch((err: unknown) => this.log.error({ job: this.job, error: describeError(err) }, "archiving WAL failed"))
      .finally(() => (this.archiving = undefined));
  }

  /**
   * Completed segments, then (every few seconds, while it grows) a copy of the open one up to
   * where pg_receivewal said it wrote: read before the copy is made, so it holds that much.
   */
  private async archivePass(job: ClusterJobConfig, server: WalServer): Promise<ArchiveResult> {
    const ctx = this.runtime.ctx;
    const whole = await archiveSpool(ctx, this.job, job, server, this.runtime.stopping);
    const written = this.written;
    if (written === undefined || Date.now() - this.openSegmentShippedAt < OPEN_SEGMENT_EVERY_MS) return whole;
    this.openSegmentShippedAt = Date.now();
    const open = await archiveOpenSegment(ctx, this.job, job, server, written, this.runtime.stopping);
    return { stored: [...whole.stored, ...open.stored], failed: [...whole.failed, ...open.failed] };
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
