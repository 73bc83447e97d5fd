import { createHash } from "node:crypto";
import { open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { IntegrityError, OperationError } from "../../errors.js";
import type { ArtifactEntry } from "../../manifest.js";
import { PieceHasher, usablePieces } from "../../pipeline/pieces.js";
import type { Target } from "../../targets/target.js";
import { isFull, noSpace } from "./disk-space.js";

export interface Fetched {
  /** The artifact's name in the backup. */
  name: string;
  /**
   * The artifact's bytes, each released only after it was checked against the manifest:
   * piece by piece while the download goes on when the manifest has piece hashes, else
   * all at once after the whole artifact's sha256 matched.
   */
  open(): Readable;
  /** Resolves when every byte arrived and the artifact matched its size and sha256; rejects with IntegrityError otherwise. */
  done: Promise<void>;
  /** Stops the download (the restore failed for another reason); `done` then rejects. */
  cancel(reason: Error): void;
}

/**
 * Downloads an artifact into `dir` and checks it before anything reads it. A copy that
 * does not match its record is refused (exit 3) and removed; a reader of it fails with
 * the same error, so a restore that already started loading stops and cleans up.
 */
/** What a download is checked against: an artifact of a manifest, or a WAL file's signed record. */
export type RecordedObject = Pick<ArtifactEntry, "name" | "size" | "sha256"> & Partial<Pick<ArtifactEntry, "pieces">>;

export interface FetchOptions {
  /** The store's version of the object, when the catalog recorded one: that version is read. */
  version?: string | undefined;
  onBytes?: ((done: number, total: number) => void) | undefined;
}

export function fetchArtifact(target: Target, key: string, artifact: RecordedObject, dir: string, options: FetchOptions = {}): Fetched {
  const { onBytes } = options;
  const path = join(dir, artifact.name);
  const gate = new VerifiedBytes();
  const cancelled = new AbortController();
  const done = download({ target, key, version: options.version }, artifact, path, gate, cancelled.signal, onBytes).catch(async (cause: unknown) => {
    const err = isFull(cause) ? await noSpace(dir, `to stage ${artifact.name} (a restore downloads each artifact into state_dir first)`, artifact.size) : unreachable(target, artifact, cause, cancelled.signal);
    gate.fail(err as Error);
    await rm(path, { force: true });
    throw err;
  });
  // Callers await `done`; until then a failure is reported through the reader.
  done.catch(() => undefined);
  return { name: artifact.name, done, open: () => verifiedReader(path, gate), cancel: (reason) => cancelled.abort(reason) };
}

/** The copy a restore read could not be reached (or lacks an object): another copy may do. */
export class CopyUnreachable extends OperationError {}

/** The copy a restore read does not match its record: another copy may do. */
export class CopyDamaged extends IntegrityError {}

/**
 * A download that failed for any reason but a mismatch or a cancel is an operation failure
 * (exit 1) naming the target and the cause: an unreachable store is never "damaged data".
 */
function unreachable(target: Target, artifact: RecordedObject, err: unknown, cancelled: AbortSignal): unknown {
  if (err instanceof IntegrityError || (cancelled.aborted && err === cancelled.reason)) return err;
  const e = err as NodeJS.ErrnoException;
  const why = err instanceof OperationError ? e.message : (e.code ?? e.message ?? String(err));
  return new CopyUnreachable(`could not reach target ${target.name} to download ${artifact.name}: ${why}`, { cause: err });
}

async function download(
  object: { target: Target; key: string; version: string | undefined },
  artifact: RecordedObject,
  path: string,
  gate: VerifiedBytes,
  signal: AbortSignal,
  onBytes?: (done: number, total: number) => void,
): Promise<void> {
  const { target } = object;
  // Without usable pieces (an older manifest) the whole artifact is one piece: nothing is
  // handed over before its sha256 matched.
  const recorded = usablePieces(artifact.pieces, artifact.size);
  const whole = recorded === undefined;
  const pieces = recorded ?? { size: Math.max(artifact.size, 1), sha256: [artifact.sha256] };
  const hasher = new PieceHasher(pieces.size);
  const mismatch = (what: string) =>
    new CopyDamaged(`${artifact.name} from ${target.name} does not match its record: ${what}; restore refused`);
  let checked = 0;
  const checkPieces = () => {
    for (; checked < hasher.count; checked++) {
      const hex = hasher.digests[checked]!.toString("hex");
      if (hex === pieces.sha256[checked]) continue;
      throw mismatch(
        whole
          ? `sha256 ${hex} (${received} bytes), expected ${artifact.sha256} (${artifact.size} bytes)`
          : `sha256 of piece ${checked + 1} of ${pieces.sha256.length} is ${hex}, expected ${pieces.sha256[checked]}`,
      );
    }
  };
  const file = await open(path, "wx", 0o600);
  let received = 0;
  let written = 0;
  let held: Buffer[] = [];
  // Chunks are checked as they arrive and written 1 MiB at a time: one write per 64 KiB
  // socket read costs more CPU than the write itself.
  const flush = async () => {
    if (held.length === 0) return;
    const bytes = held.reduce((n, b) => n + b.length, 0);
    await writeAll(file, held, written);
    written += bytes;
    held = [];
    gate.advance(Math.min(checked * pieces.size, written));
  };
  try {
    const source = await target.get(object.key, object.version);
    const stop = () => source.destroy(signal.reason as Error);
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stop();
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      if (received + bytes.length > artifact.size) throw mismatch(`more than the ${artifact.size} bytes recorded`);
      received += bytes.length;
      const before = checked;
      hasher.update(bytes);
      checkPieces();
      held.push(bytes);
      if (received - written >= WRITE_SIZE || checked > before) await flush();
      onBytes?.(received, artifact.size);
    }
    await flush();
  } finally {
    await file.close();
  }
  if (received !== artifact.size) throw mismatch(`${received} bytes, expected ${artifact.size}`);
  hasher.finish();
  checkPieces();
  // An empty artifact has no piece to check; its recorded sha256 must be that of nothing.
  if (received === 0 && artifact.sha256 !== createHash("sha256").digest("hex")) throw mismatch(`0 bytes, expected sha256 ${artifact.sha256}`);
  gate.complete(received);
}

const WRITE_SIZE = 1 << 20;

async function writeAll(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    let { bytesWritten } = await file.writev(pending, position);
    position += bytesWritten;
    // A short write: continue with what is left.
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        rest.push(b.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

/** How far the downloaded file has been checked; readers wait on it. */
class VerifiedBytes {
  private verified = 0;
  private total: number | undefined;
  private error: Error | undefined;
  private waiters: (() => void)[] = [];

  advance(upTo: number): void {
    if (upTo > this.verified) {
      this.verified = upTo;
      this.wake();
    }
  }

  complete(total: number): void {
    this.verified = total;
    this.total = total;
    this.wake();
  }

  fail(error: Error): void {
    this.error = error;
    this.wake();
  }

  /** Resolves with an offset beyond `position` that is verified, or null at the end. */
  async beyond(position: number): Promise<number | null> {
    for (;;) {
      if (this.error) throw this.error;
      if (this.verified > position) return this.verified;
      if (this.total !== undefined) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

const READ_SIZE = 1 << 20;

/** Reads the file as far as it is verified, waiting for more while the download goes on. */
function verifiedReader(path: string, gate: VerifiedBytes): Readable {
  let handle: FileHandle | undefined;
  let position = 0;
  return new Readable({
    highWaterMark: READ_SIZE,
    read() {
      void (async () => {
        try {
          const limit = await gate.beyond(position);
          if (limit === null) return void this.push(null);
          if (!handle) {
            handle = await open(path, "r");
            if (this.destroyed) return void (await handle.close());
          }
          const length = Math.min(READ_SIZE, limit - position);
          const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(length), 0, length, position);
          if (bytesRead === 0) throw new Error(`${path} ended before the verified length`);
          position += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
        } catch (err) {
          this.destroy(err as Error);
        }
      })();
    },
    destroy(err, callback) {
      const closing = handle ? handle.close() : Promise.resolve();
      closing.then(() => callback(err), () => callback(err));
    },
  });
}
