import { createReadStream, createWriteStream } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, rename, rm, unlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { archiveSpool, type WalServer } from "../app/wal-archive.js";
import { fsyncDir } from "../targets/local.js";
import { readBounded } from "../app/manifests.js";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError } from "../errors.js";
import { DigestStream } from "../pipeline/digest.js";
import { PgConnection } from "../sources/pg-connection.js";
import { isCompleteWalFile, slotName, spoolDir, walPrefix, walRecordSchema } from "../wal/layout.js";
import { defaultWalSocket, parsePushHeader, PUSH_HEADER_MAX, pushedKind, type PushHeader } from "../wal/push-protocol.js";
import { SEGMENT_HEADER_BYTES, segmentHeaderProblem } from "../wal/segment-header.js";
import { dropIdleSlot } from "../wal/slot.js";
import { WalJob, type WalSample } from "./wal-job.js";

/** How often files in the spool are taken to the targets the hand-off did not wait for. */
const ARCHIVE_EVERY_MS = 2_000;
/** A client that sends nothing for this long is dropped (its archive_command fails and PostgreSQL tries again). */
const IDLE_MS = 60_000;
/** Hand-offs served at once: PostgreSQL's archiver sends one at a time; more is another client, kept from flooding the disk. */
const CONCURRENT_HANDOFFS = 4;
const HISTORY_MAX_BYTES = 1 << 20;
const RECORD_MAX_BYTES = 64 << 10;

/**
 * Archive mode: the server's archive_command (`drctl wal push JOB %p`, as the server's OS
 * user) hands each WAL file to this socket. The file is written to the spool and synced,
 * checked (a segment's header must be this cluster's segment of that name), stored on the
 * job's first target with its signed record, and only then answered "ok": PostgreSQL
 * recycles a WAL file once its archive_command exits 0. The other targets get it from the
 * spool every few seconds, as in stream mode. No slot: the server keeps each file until it
 * was handed over, and a daemon that is down makes archive_command fail, so PostgreSQL
 * keeps the file and tries again (pg_wal grows meanwhile, which the server's own
 * pg_stat_archiver shows and the daemon alerts on once it runs).
 */
export class WalArchiver extends WalJob {
  private listener: Server | undefined;
  private tick: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  private walServer: WalServer | undefined;
  /** One operation per WAL file name at a time: a hand-off and the pass never stage the same file at once. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private handoffs = 0;
  private archiverFailing = false;

  override start(): void {
    super.start();
    void this.dropStreamSlot();
    void this.listen().catch((err: unknown) => this.failed(`cannot listen for archive_command on ${this.socketPath()}: ${describeError(err)}`));
    this.tick = setInterval(() => this.pass(), ARCHIVE_EVERY_MS);
  }

  override async stop(): Promise<void> {
    await super.stop();
    clearInterval(this.tick);
    const closed = new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    await Promise.all([this.passing, ...this.busy.values()].map((p) => p?.catch(() => undefined)));
    await closed;
  }

  private socketPath(): string {
    const job = this.config();
    return job?.wal.mode === "archive" && job.wal.socket ? job.wal.socket : defaultWalSocket(this.job);
  }

  /**
   * The socket goes in a directory the admin gave the server's group (install.sh makes
   * /run/drd/wal setgid to it), so the socket takes that group; it is group read-write,
   * which is what connecting needs. A stale socket a killed daemon left is replaced.
   */
  private async listen(): Promise<void> {
    const path = this.socketPath();
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !existing.isSocket()) throw new Error(`${path} exists and is not a socket`);
    if (existing) await unlink(path);
    const server = createServer((socket) => void this.serve(socket));
    this.listener = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    server.on("error", (err) => this.failed(`the archive_command socket ${path} failed: ${describeError(err)}`));
    await chmod(path, 0o660);
    this.log.info({ job: this.job, socket: path }, "receiving WAL from archive_command");
  }

  /**
   * The job's slot, left from when it streamed: unread, it would keep every WAL file on the
   * server from then on. Dropped unless a receiver still uses it.
   */
  private async dropStreamSlot(): Promise<void> {
    const job = this.config();
    if (!job) return;
    const slot = slotName(this.job);
    try {
      const conn = await PgConnection.open(job.connection, job.password_file);
      try {
        if (await dropIdleSlot(conn, slot)) this.log.warn({ job: this.job, slot }, "dropped the job's replication slot: in archive mode nothing reads it, and it would keep the server's WAL");
      } finally {
        await conn.close();
      }
    } catch (err) {
      this.log.warn({ job: this.job, error: describeError(err) }, "could not check for a replication slot left from stream mode; drctl wal setup lists it");
    }
  }

  protected sampled(sample: WalSample): void {
    const was = this.archiverFailing;
    this.archiverFailing = sample.archiverFailing !== null;
    if (sample.archiverFailing && !was)
      this.failed(`the server's archive_command failed for ${sample.archiverFailing.wal} at ${sample.archiverFailing.at} and has not succeeded since: pg_wal grows until it does (the server's log says why)`);
  }

  /** One hand-off: header, body to the spool, checks, the first target; then the one-line answer. */
  private async serve(socket: Socket): Promise<void> {
    socket.on("error", () => undefined);
    let answer: string;
    if (this.handoffs >= CONCURRENT_HANDOFFS) answer = `error the daemon is busy with ${this.handoffs} hand-offs; try again`;
    else {
      this.handoffs++;
      try {
        answer = `ok ${await this.receive(socket)}`;
      } catch (err) {
        const why = describeError(err);
        this.log.warn({ job: this.job, error: why }, "a WAL hand-off failed; archive_command fails and PostgreSQL tries again");
        answer = `error ${why.replace(/\n/g, " ")}`;
      } finally {
        this.handoffs--;
      }
    }
    socket.end(`${answer}\n`);
  }

  private async receive(socket: Socket): Promise<string> {
    const chunks = socket.iterator({ destroyOnReturn: false });
    const next = () => withDeadline(chunks.next() as Promise<IteratorResult<Buffer>>, IDLE_MS, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    while (!buffered.includes(10)) {
      const r = await next();
      if (r.done) throw new Error("the client closed before its header");
      buffered = Buffer.concat([buffered, r.value]);
      if (buffered.length > PUSH_HEADER_MAX && buffered.indexOf(10) === -1) throw new Error("the header is too long");
    }
    const nl = buffered.indexOf(10);
    const header = parsePushHeader(buffered.subarray(0, nl).toString("utf8"));
    if ("error" in header) throw new Error(header.error);
    if (header.job !== this.job) throw new Error(`this socket takes the WAL of ${this.job}, not of ${header.job}`);
    const kind = pushedKind(header.name);
    if (!kind) throw new Error(`${header.name} is not a WAL file name`);
    const job = this.config();
    if (!job) throw new Error(`${this.job} is no longer configured`);
    const server = await this.serverOf(job);
    const limit = kind === "segment" ? server.segmentSize : kind === "history" ? HISTORY_MAX_BYTES : Number.MAX_SAFE_INTEGER;
    if (kind === "segment" ? header.size !== limit : header.size > limit) throw new Error(`${header.name} is ${header.size} bytes; a ${kind} here is ${kind === "segment" ? "" : "at most "}${limit}`);
    const body = exactly(buffered.subarray(nl + 1), next, header.size);
    if (kind === "ignored") {
      for await (const _ of body);
      return `${header.name} acknowledged, not kept (drd's manifest and the new timeline's WAL hold what it says)`;
    }
    return this.exclusive(header.name, () => this.take(job, server, header, body));
  }

  /** The body into the spool (synced, checked), then onto the first target. */
  private async take(job: ClusterJobConfig, server: WalServer, header: PushHeader, body: AsyncIterable<Buffer>): Promise<string> {
    const ctx = this.runtime.ctx;
    const spool = spoolDir(ctx.config.state_dir, this.job);
    const incoming = join(spool, ".incoming");
    await mkdir(incoming, { recursive: true, mode: 0o700 });
    const temp = join(incoming, `${header.name}.${process.pid}.${Date.now()}`);
    try {
      const digest = new DigestStream();
      await pipeline(body, digest, createWriteStream(temp, { mode: 0o600 }));
      const handle = await open(temp, "r");
      try {
        if (pushedKind(header.name) === "segment") {
          const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
          await handle.read(head, 0, SEGMENT_HEADER_BYTES, 0);
          const problem = segmentHeaderProblem(head, header.name, server);
          if (problem) throw new Error(problem);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const same = await this.sameAsArchived(job, header.name, digest.hex());
      if (same === "different") throw new Error(`${header.name} is archived already with other content: refused, so the archive keeps what it has (check the server: two clusters archiving to one job?)`);
      if (same === "stored") return `${header.name} is archived already, with the same content`;
      await rename(temp, join(spool, header.name));
      await fsyncDir(spool);
    } finally {
      await rm(temp, { force: true });
    }
    const first = job.targets[0]!;
    const r = await archiveSpool(ctx, this.job, job, server, this.stopped.signal, { names: [header.name], targets: [first] });
    const failed = r.failed[0];
    if (failed) {
      this.failed(`WAL file ${failed.name} could not be stored on ${failed.target}: ${failed.error}`);
      throw new Error(`${failed.name} could not be stored on ${failed.target}: ${failed.error}`);
    }
    return `${header.name} stored on ${first}`;
  }

  /** Whether the file is in the archive already: PostgreSQL hands a file over again after a crash before it saw the "ok". */
  private async sameAsArchived(job: ClusterJobConfig, name: string, sha256: string): Promise<"stored" | "different" | "new"> {
    const spooled = await fileSha256(join(spoolDir(this.runtime.ctx.config.state_dir, this.job), name)).catch(() => undefined);
    if (spooled) return spooled === sha256 ? "new" : "different";
    const first = job.targets[0]!;
    if (!this.runtime.ctx.catalog.walSegment(this.job, first, name)) return "new";
    const target = this.runtime.ctx.targets.get(first);
    const key = `${walPrefix(this.job)}${name}.json`;
    const info = await target.stat(key);
    const text = info ? await readBounded(target, key, info.size, RECORD_MAX_BYTES) : undefined;
    const record = typeof text === "string" ? walRecordSchema.safeParse(parseJson(text)) : undefined;
    if (!record?.success) return "new";
    return record.data.content.sha256 === sha256 ? "stored" : "different";
  }

  /** Every few seconds: the spool's files to every target, one file at a time beside the hand-offs. */
  private pass(): void {
    if (this.passing) return;
    const job = this.config();
    if (!job) return;
    this.passing = (async () => {
      const server = await this.serverOf(job);
      const names = (await readdir(spoolDir(this.runtime.ctx.config.state_dir, this.job)).catch(() => [] as string[])).filter(isCompleteWalFile).sort();
      const result = { stored: [] as string[], failed: [] as { name: string; target: string; error: string }[] };
      for (const name of names) {
        if (this.stopped.signal.aborted) break;
        const r = await this.exclusive(name, () => archiveSpool(this.runtime.ctx, this.job, job, server, this.stopped.signal, { names: [name] }));
        result.stored.push(...r.stored);
        result.failed.push(...r.failed);
      }
      this.report(result, !this.archiverFailing);
    })()
      .catch((err: unknown) => {
        if (!this.stopped.signal.aborted) this.log.error({ job: this.job, error: describeError(err) }, "archiving WAL failed");
      })
      .finally(() => (this.passing = undefined));
  }

  private async serverOf(job: ClusterJobConfig): Promise<WalServer> {
    if (this.walServer) return this.walServer;
    const conn = await PgConnection.open(job.connection, job.password_file);
    try {
      let server: WalServer;
      try {
        server = await this.server(conn);
      } catch (err) {
        throw new Error(`cannot ask the server for its system identifier: ${conn.mask(describeError(err))}`);
      }
      const spool = spoolDir(this.runtime.ctx.config.state_dir, this.job);
      await mkdir(spool, { recursive: true, mode: 0o700 });
      await this.assertSameCluster(spool, server);
      return (this.walServer = server);
    } finally {
      await conn.close();
    }
  }

  private async exclusive<T>(name: string, task: () => Promise<T>): Promise<T> {
    while (this.busy.has(name)) await this.busy.get(name)!.catch(() => undefined);
    const running = task();
    this.busy.set(name, running);
    try {
      return await running;
    } finally {
      this.busy.delete(name);
    }
  }
}

/** `size` bytes: what came after the header, then more from the socket; more or fewer is an error. */
async function* exactly(first: Buffer, next: () => Promise<IteratorResult<Buffer>>, size: number): AsyncGenerator<Buffer> {
  let left = size;
  let chunk = first;
  for (;;) {
    if (chunk.length > left) throw new Error(`the client sent more than the ${size} bytes its header announced`);
    if (chunk.length > 0) yield chunk;
    left -= chunk.length;
    if (left === 0) return;
    const r = await next();
    if (r.done) throw new Error(`the client closed after ${size - left} of ${size} bytes`);
    chunk = r.value;
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`the client sent nothing for ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}


async function fileSha256(path: string): Promise<string> {
  const digest = new DigestStream();
  await pipeline(createReadStream(path), digest, async (source: AsyncIterable<Buffer>) => {
    for await (const _ of source);
  });
  return digest.hex();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
