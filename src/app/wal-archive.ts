import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError, OperationError } from "../errors.js";
import { compress, compressionExtension } from "../pipeline/compress.js";
import { DigestStream } from "../pipeline/digest.js";
import { createEncryptor, type Encryptor } from "../pipeline/encrypt.js";
import { parseHistoryName } from "../policy/timeline.js";
import { parseSegmentName, type Lsn, type Segment } from "../policy/wal.js";
import { loadSigner } from "../trust/signing.js";
import { isCompleteWalFile, OPEN_SEGMENT, parsePartialName, partialName, spoolDir, WAL_RECORD_FORMAT, walPrefix, walRecordSchema, type WalRecord } from "../wal/layout.js";
import type { AppContext } from "./context.js";

export interface ArchiveResult {
  /** WAL files now on every target of the job (removed from the spool), or the partial copy stored. */
  stored: string[];
  /** A target that refused one: the file stays in the spool and is tried again. */
  failed: { name: string; target: string; error: string }[];
}

/** Part of the spool: these files only, on these targets only (a file still leaves the spool only once every target of the job holds it). */
export interface SpoolSelection {
  names?: string[];
  targets?: string[];
}

/** The cluster a job's WAL comes from, as the server said. */
export interface WalServer {
  systemIdentifier: string;
  segmentSize: number;
}

/**
 * Moves the completed WAL files pg_receivewal left in the job's spool to every target of
 * the job, oldest first: each compressed (and encrypted) once into a staged file, put on
 * each target, then its record and the record's signature beside it; recorded in the
 * catalog per target. A file leaves the spool only once every target holds it; one a target
 * refused stays, and the files after it are still stored (the order on a target does not
 * matter, only that none is missing, which the catalog and `verify` tell).
 */
export async function archiveSpool(ctx: AppContext, jobName: string, job: ClusterJobConfig, server: WalServer, signal: AbortSignal, only: SpoolSelection = {}): Promise<ArchiveResult> {
  const dir = spoolDir(ctx.config.state_dir, jobName);
  await removeStaleOpenSegments(dir, server.segmentSize);
  const names = (only.names ?? (await readdir(dir).catch(() => [] as string[]))).filter(isCompleteWalFile).sort();
  const result: ArchiveResult = { stored: [], failed: [] };
  if (names.length === 0) return result;
  const writer = await WalWriter.open(ctx, jobName, job, server);
  for (const name of names) {
    signal.throwIfAborted();
    // Kept staged until every target holds it: a retry puts the very same bytes and record,
    // never a new encryption of them over a copy a target already holds.
    const staged = (await writer.staged(name)) ?? (await writer.stage(join(dir, name), name, signal, { keep: true }));
    const holds = (targetName: string) => ctx.catalog.walSegment(jobName, targetName, name)?.sha256 === staged.record.object.sha256;
    for (const targetName of only.targets ?? job.targets) {
      if (holds(targetName)) continue;
      try {
        await writer.put(targetName, staged, signal);
        ctx.catalog.recordWalSegment({ job: jobName, name, target: targetName, size: staged.record.object.size, sha256: staged.record.object.sha256, stored_at: ctx.now() });
        await removeStalePartial(ctx, jobName, targetName, (p) => supersedes(name, p, server.segmentSize));
      } catch (err) {
        if (signal.aborted) throw err;
        result.failed.push({ name, target: targetName, error: describeError(err) });
      }
    }
    if (job.targets.every(holds)) {
      await unlink(join(dir, name));
      await writer.discard(staged);
      result.stored.push(name);
    }
  }
  return result;
}

/**
 * Ships a copy of the segment pg_receivewal is still writing, so a quiet server's last
 * writes do not wait for 16 MiB to fill before they are off the machine. `written` is how
 * far pg_receivewal had told the server it wrote, read before the file is: the copy holds
 * at least that much, and its name says so. Nothing is shipped when that did not move since
 * the copy on every target. The previous copy on a target goes once the new one is there.
 */
export async function archiveOpenSegment(ctx: AppContext, jobName: string, job: ClusterJobConfig, server: WalServer, written: Lsn, signal: AbortSignal): Promise<ArchiveResult> {
  const result: ArchiveResult = { stored: [], failed: [] };
  const dir = spoolDir(ctx.config.state_dir, jobName);
  const newest = openSegments(await readdir(dir).catch(() => [] as string[]), server.segmentSize).at(-1);
  if (!newest) return result;
  const { name: open, segment } = newest;
  const covered = Number(written - segment.number * BigInt(server.segmentSize));
  if (covered <= 0) return result;
  const name = partialName(open, Math.min(covered, server.segmentSize));
  const missing = job.targets.filter((t) => ctx.catalog.walPartial(jobName, t)?.name !== name);
  if (missing.length === 0) return result;
  const writer = await WalWriter.open(ctx, jobName, job, server);
  let staged: Staged;
  try {
    staged = await writer.stage(join(dir, `${open}.partial`), name, signal);
  } catch (err) {
    // Completed and renamed meanwhile: the next pass archives it whole.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return result;
    throw err;
  }
  try {
    for (const targetName of missing) {
      try {
        await writer.put(targetName, staged, signal);
        const before = ctx.catalog.walPartial(jobName, targetName);
        ctx.catalog.recordWalPartial({ job: jobName, target: targetName, name, object: staged.record.object.name, stored_at: ctx.now() });
        if (before) await removeStored(ctx, jobName, targetName, before);
      } catch (err) {
        if (signal.aborted) throw err;
        result.failed.push({ name, target: targetName, error: describeError(err) });
      }
    }
  } finally {
    await writer.discard(staged);
  }
  if (result.failed.length === 0) result.stored.push(name);
  return result;
}

/** The open segments (`<segment>.partial`) among `names`, oldest first: by timeline, then by number. */
export function openSegments(names: readonly string[], segmentSize: number): { name: string; segment: Segment }[] {
  const open: { name: string; segment: Segment }[] = [];
  for (const n of names) {
    const name = OPEN_SEGMENT.exec(n)?.[1];
    const segment = name === undefined ? undefined : parseSegmentName(name, segmentSize);
    if (name !== undefined && segment) open.push({ name, segment });
  }
  return open.sort((a, b) => a.segment.timeline - b.segment.timeline || (a.segment.number < b.segment.number ? -1 : a.segment.number > b.segment.number ? 1 : 0));
}

/**
 * After a timeline switch pg_receivewal leaves the old timeline's last segment as
 * `<segment>.partial` for good; it is removed once a file of a newer timeline (its history
 * file comes first) is in the spool, or the server is on a newer timeline (`serverTimeline`).
 * Nothing of the new timeline is lost: pg_receivewal streams the new timeline's file of that
 * segment from its start, so it holds the old timeline's WAL up to the switch; what the old
 * file holds past the switch is no part of the new timeline, and a restore along it never
 * reads it. Kept, it would be shipped as the open segment, and pg_receivewal would resume
 * from it on the old timeline, which it cannot do from the switch point on (the server ends
 * that timeline without streaming, and pg_receivewal takes that for an error): without it,
 * pg_receivewal resumes from the newest timeline in the spool, or from the slot.
 */
export async function removeStaleOpenSegments(dir: string, segmentSize: number, serverTimeline = 0): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const timelines = names.map((n) => parseHistoryName(n) ?? parseSegmentName(n.slice(0, 24), segmentSize)?.timeline ?? 0);
  const newest = Math.max(serverTimeline, ...timelines);
  for (const open of openSegments(names, segmentSize)) if (open.segment.timeline < newest) await rm(join(dir, `${open.name}.partial`), { force: true });
}

/** Whether a stored whole WAL file makes a partial copy of `partialSegment` needless: the same segment or a later one, on its timeline or a newer one. */
function supersedes(stored: string, partialSegment: string, segmentSize: number): boolean {
  const [s, p] = [parseSegmentName(stored, segmentSize), parseSegmentName(partialSegment, segmentSize)];
  return s !== undefined && p !== undefined && s.timeline >= p.timeline && s.number >= p.number;
}

interface Staged {
  path: string;
  record: WalRecord;
  recordText: string;
  signature: string | undefined;
}

/** Stages WAL files as stored objects with their signed records, and puts them on targets. */
class WalWriter {
  private constructor(
    private readonly ctx: AppContext,
    private readonly jobName: string,
    private readonly job: ClusterJobConfig,
    private readonly server: WalServer,
    private readonly signer: Awaited<ReturnType<typeof loadSigner>> | undefined,
    private readonly encryptor: Encryptor | undefined,
  ) {}

  static async open(ctx: AppContext, jobName: string, job: ClusterJobConfig, server: WalServer): Promise<WalWriter> {
    const signer = ctx.config.signing ? await loadSigner(ctx.config.signing.key_file) : undefined;
    const encryptor = job.encrypt ? await createEncryptor(job.encrypt) : undefined;
    return new WalWriter(ctx, jobName, job, server, signer, encryptor);
  }

  private get stageDir(): string {
    return join(spoolDir(this.ctx.config.state_dir, this.jobName), ".stage");
  }

  private objectName(name: string): string {
    return `${name}${compressionExtension(this.job.compression)}${this.encryptor ? ".gpg" : ""}`;
  }

  /** What an earlier pass staged of `name` and kept, when it is whole and made as the job is configured now. */
  async staged(name: string): Promise<Staged | undefined> {
    const recordPath = join(this.stageDir, `${name}.record.json`);
    const recordText = await readFile(recordPath, "utf8").catch(() => undefined);
    if (recordText === undefined) return undefined;
    let record: WalRecord;
    try {
      record = walRecordSchema.parse(JSON.parse(recordText));
    } catch {
      return undefined;
    }
    const path = join(this.stageDir, record.object.name);
    const size = (await stat(path).catch(() => undefined))?.size;
    const sameMaking = record.object.name === this.objectName(name) && record.system_identifier === this.server.systemIdentifier;
    if (record.name !== name || size !== record.object.size || !sameMaking) {
      // Cut short, or made before the job's compression or encryption changed: made again.
      await rm(path, { force: true });
      return undefined;
    }
    return { path, record, recordText, signature: this.signer ? await this.signer.sign(recordText) : undefined };
  }

  /** Removes what `stage` wrote. */
  async discard(staged: Staged): Promise<void> {
    await rm(staged.path, { force: true });
    await rm(join(this.stageDir, `${staged.record.name}.record.json`), { force: true });
  }

  /** Compresses (and encrypts) the file at `source` into the stage, synced, and writes its record (kept beside it with `keep`). */
  async stage(source: string, name: string, signal: AbortSignal, options: { keep?: boolean } = {}): Promise<Staged> {
    const stage = this.stageDir;
    await mkdir(stage, { recursive: true, mode: 0o700 });
    const objectName = this.objectName(name);
    const path = join(stage, objectName);
    const made = await stageFile(source, path, this.job, this.encryptor, signal);
    const record: WalRecord = {
      format: WAL_RECORD_FORMAT,
      job: this.jobName,
      name,
      object: { name: objectName, size: made.object.size, sha256: made.object.sha256 },
      content: made.content,
      compression: this.job.compression.algorithm,
      encryption: this.encryptor?.info.method ?? null,
      system_identifier: this.server.systemIdentifier,
      stored_at: new Date(this.ctx.now()).toISOString(),
    };
    const recordText = `${JSON.stringify(record, null, 2)}\n`;
    if (options.keep) await writeFile(join(stage, `${name}.record.json`), recordText, { mode: 0o600 });
    return { path, record, recordText, signature: this.signer ? await this.signer.sign(recordText) : undefined };
  }

  /** The object, read back by its sha256, then the signature, then the record: with it, the file counts as stored there. */
  async put(targetName: string, staged: Staged, signal: AbortSignal): Promise<void> {
    const target = this.ctx.targets.get(targetName);
    const prefix = walPrefix(this.jobName);
    const { object, name } = staged.record;
    const put = await target.put(prefix + object.name, createReadStream(staged.path), { signal, expectedSize: object.size });
    if (put.sha256 !== object.sha256) throw new OperationError(`the stored ${object.name} reads back as sha256 ${put.sha256}, not ${object.sha256}`);
    if (staged.signature) await target.put(`${prefix}${name}.json.sig`, bufferStream(staged.signature), { signal });
    await target.put(`${prefix}${name}.json`, bufferStream(staged.recordText), { signal });
  }
}

/** Removes the target's partial copy of a segment that `stale` says is no longer needed (a whole copy is stored). */
async function removeStalePartial(ctx: AppContext, jobName: string, targetName: string, stale: (segment: string) => boolean): Promise<void> {
  const row = ctx.catalog.walPartial(jobName, targetName);
  const parsed = row && parsePartialName(row.name);
  if (!row || !parsed || !stale(parsed.segment)) return;
  await removeStored(ctx, jobName, targetName, row);
  ctx.catalog.forgetWalPartial(jobName, targetName);
}

/** The record first, so a copy whose object is gone is never offered; a failure leaves a harmless leftover. */
async function removeStored(ctx: AppContext, jobName: string, targetName: string, row: { name: string; object: string }): Promise<void> {
  const target = ctx.targets.get(targetName);
  const prefix = walPrefix(jobName);
  try {
    await target.delete([`${prefix}${row.name}.json`]);
    await target.delete([`${prefix}${row.name}.json.sig`, `${prefix}${row.object}`]);
  } catch {
    // A restore prefers whole segments and the newest copy: an old copy left behind is never used.
  }
}

/** Compresses (and encrypts) `source` into `staged`, synced, with both sizes and sha256s. */
async function stageFile(source: string, staged: string, job: ClusterJobConfig, encryptor: Encryptor | undefined, signal: AbortSignal) {
  const raw = new DigestStream();
  const stored = new DigestStream();
  const input = await open(source, "r");
  void pipeline(input.createReadStream(), raw).catch((err: Error) => raw.destroy(err));
  const compressed = compress(job.compression, raw, signal);
  const body = encryptor ? await encryptor.encrypt(compressed.output) : compressed.output;
  const temp = `${staged}.tmp`;
  await Promise.all([pipeline(body, stored, createWriteStream(temp, { mode: 0o600 }), { signal }), compressed.done]);
  const handle = await open(temp, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, staged);
  return { content: { size: raw.bytes, sha256: raw.hex() }, object: { size: stored.bytes, sha256: stored.hex() } };
}

function bufferStream(text: string) {
  return Readable.from([Buffer.from(text, "utf8")]);
}
