import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type { CompressionConfig } from "../config/schema.js";
import { IntegrityError, OperationError } from "../errors.js";
import { hasPipeFd } from "./pipe-fd.js";

/** File-name extension each algorithm adds. */
export function compressionExtension(c: CompressionConfig): string {
  return c.algorithm === "zstd" ? ".zst" : c.algorithm === "gzip" ? ".gz" : "";
}

// Measured on a 1 GiB dump (docs/benchmarks.md): level 1 keeps pace with pg_dump on two cores;
// level 3 is 3% smaller and added a second of wall time to the whole backup.
export const DEFAULT_ZSTD_LEVEL = 1;
export const DEFAULT_GZIP_LEVEL = 6;

export interface Compression {
  output: Readable;
  /** Resolves when every input byte was compressed and the compressor exited cleanly. */
  done: Promise<void>;
}

export interface Compressed extends Compression {
  /** Resolves with how many bytes went in, once `done` resolved. */
  inputBytes: Promise<number>;
}

/**
 * Compresses `input`. zstd runs as the stock `zstd` process with two threads (Node 20's
 * zlib has no zstd). When `input` is another process's stdout, that pipe is handed to
 * zstd directly, so the uncompressed bytes never pass through this process; zstd itself
 * then says how many it took.
 */
export function compress(c: CompressionConfig, input: Readable, signal: AbortSignal): Compressed {
  switch (c.algorithm) {
    case "zstd": {
      // -vv: the summary line gives the exact byte counts ("(N B => M B, ...").
      const z = spawnZstd(["-vv", `-${c.level ?? DEFAULT_ZSTD_LEVEL}`, "-T2", "-c", "-"], input, signal);
      const inputBytes = z.done.then(() => {
        const m = /\(\s*(\d+) B =>/.exec(z.stderr());
        if (!m) throw new OperationError(`zstd did not report how many bytes it compressed: ${z.stderr().trim().slice(-200)}`);
        return Number(m[1]);
      });
      inputBytes.catch(() => undefined);
      // Taken at once: Node discards what a child wrote and nobody read once the child exits,
      // and a small artifact is compressed before its reader (the encryptor) is set up.
      const output = new PassThrough({ highWaterMark: 1 << 20 });
      pipeline(z.output, output).catch(() => undefined);
      return { output, done: z.done, inputBytes };
    }
    case "gzip": {
      const counter = new ByteCounter();
      const output = new PassThrough({ highWaterMark: 1 << 20 });
      const done = pipeline(input, counter, createGzip({ level: c.level ?? DEFAULT_GZIP_LEVEL }), output, { signal });
      return { output, done, inputBytes: done.then(() => counter.bytes) };
    }
    case "none": {
      const counter = new ByteCounter();
      // pipeline, not pipe: an error on either side reaches the other; `done` is the reader's end.
      pipeline(input, counter).catch(() => undefined);
      const done = finished(counter, { signal });
      return { output: counter, done, inputBytes: done.then(() => counter.bytes) };
    }
  }
}

/** Counts what passes; with `limit`, fails once more than that has passed. */
class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly limit?: { bytes: number; error: () => Error }) {
    super({ highWaterMark: 1 << 20 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.limit && this.bytes > this.limit.bytes) return done(this.limit.error());
    done(null, chunk);
  }
}

function spawnZstd(args: string[], input: Readable, signal: AbortSignal, limit?: OutputLimit): Compression & { stderr: () => string } {
  const direct = hasPipeFd(input);
  const child = spawn("zstd", args, { stdio: [direct ? input : "pipe", "pipe", "pipe"], signal });
  // Listened to before anything else: a spawn that fails (no descriptors left: EMFILE) emits
  // its error on the next tick, and an unheard error event would end the whole daemon.
  let fed: ByteCounter | undefined;
  const exited = new Promise<void>((resolve, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "ENOENT"
          ? new OperationError("zstd is not installed (Debian: apt-get install zstd)")
          : err.name === "AbortError"
            ? err
            : new OperationError(`cannot run zstd: ${err.code === "EMFILE" || err.code === "ENFILE" ? `${err.code} (too many open files)` : err.message}`),
      ),
    );
    child.once("close", (code, sig) => {
      if (code === 0) resolve();
      // How much it was given says whether its input or the data was short.
      else reject(new OperationError(`zstd ${sig ? `was killed by ${sig}` : `exited ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ""}${fed ? ` (given ${fed.bytes} bytes${fed.writableEnded ? ", all its input" : ", its input not ended"})` : ""}`));
    });
  });
  let stderr = "";
  if (!child.stdout || !child.stderr || (!direct && !child.stdin)) {
    // It never started: no stdio to read. The producer is stopped and `done` says why.
    input.destroy();
    // An empty output: its readers end as usual, and the failure is reported once, through
    // `done`, which the writer awaits before anything becomes visible.
    const output = new PassThrough();
    output.end();
    return { output, done: exited, stderr: () => stderr };
  }
  // The child holds its own copy of the pipe; ours must close, or the producer would
  // never see the pipe break when zstd dies.
  if (direct) input.destroy();
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-2000)));
  fed = direct ? undefined : new ByteCounter();
  const feeding = direct ? Promise.resolve() : pipeline(input, fed!, child.stdin!);
  let overrun: Error | undefined;
  const held =
    limit && child.pid !== undefined
      ? holdOutput(child.pid, limit, (err) => {
          overrun = err;
          child.kill("SIGKILL");
        })
      : undefined;
  const done = Promise.all([feeding, exited])
    .then(() => undefined)
    .catch((err: unknown) => {
      throw overrun ?? err;
    })
    .finally(() => held?.stop());
  return { output: child.stdout, done, stderr: () => stderr };
}

export interface OutputLimit {
  /** The most bytes the output may have. */
  bytes: number;
  /** The error a larger output fails with. */
  error: () => Error;
  /**
   * The output is read in this process, so every byte is counted on its way. Otherwise
   * (zstd's output handed to pg_restore or psql as is) the kernel's count is sampled.
   */
  readHere: boolean;
}

/** How often a decompressor's output is measured against its limit. */
const HOLD_EVERY_MS = 100;

/**
 * Holds a zstd process to at most `limit.bytes` of output without taking its output
 * through this process (it may go straight to pg_restore): the kernel counts what it wrote
 * (/proc/PID/io wchar, its stderr included, a few hundred bytes); past the limit it is
 * killed. It can overshoot by what it writes between two looks.
 */
function holdOutput(pid: number, limit: OutputLimit, stop: (err: Error) => void): { stop: () => void } {
  const slack = 64 * 1024;
  let looking = false;
  const timer = setInterval(() => {
    if (looking) return;
    looking = true;
    readFile(`/proc/${pid}/io`, "utf8")
      .then((io) => {
        const written = Number(/^wchar: (\d+)$/m.exec(io)?.[1] ?? 0);
        if (written > limit.bytes + slack) {
          clearInterval(timer);
          stop(limit.error());
        }
      })
      .catch(() => undefined)
      .finally(() => (looking = false));
  }, HOLD_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * The inverse, for restore. Its output must be read (or handed on) at once: Node discards
 * what a child process wrote and nobody read once the child exits. zstd's output is a pipe the caller can hand to the next
 * process (pg_restore) directly, so the plain dump never passes through this process.
 */
export function decompress(algorithm: CompressionConfig["algorithm"], input: Readable, signal: AbortSignal, limit?: OutputLimit): Compression {
  switch (algorithm) {
    case "zstd": {
      const { output, done } = spawnZstd(["-q", "-d", "-c", "-"], input, signal, limit?.readHere ? undefined : limit);
      if (!limit?.readHere) return { output, done };
      const counter = new ByteCounter(limit);
      return { output: counter, done: Promise.all([done, pipeline(output, counter).then(() => finished(counter))]).then(() => undefined) };
    }
    case "gzip":
    case "none": {
      const output = new PassThrough({ highWaterMark: 1 << 20 });
      const stages = algorithm === "gzip" ? [createGunzip()] : [];
      const counter = new ByteCounter(limit);
      return { output, done: pipeline([input, ...stages, counter, output], { signal }) };
    }
  }
}

/** The limit a restore holds an artifact's plain bytes to: what its manifest declares. */
export function declaredLimit(what: string, bytes: number, readHere: boolean): OutputLimit {
  return { bytes, readHere, error: () => new IntegrityError(`${what} holds more than the ${bytes} bytes its manifest declares; restore refused`) };
}
