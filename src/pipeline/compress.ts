import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type { CompressionConfig } from "../config/schema.js";
import { OperationError } from "../errors.js";
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

/**
 * Compresses `input`. zstd runs as the stock `zstd` process with two threads (Node 20's
 * zlib has no zstd). When `input` is another process's stdout, that pipe is handed to
 * zstd directly, so the uncompressed bytes never pass through this process.
 */
export function compress(c: CompressionConfig, input: Readable, signal: AbortSignal): Compression {
  switch (c.algorithm) {
    case "zstd":
      return spawnZstd(["-q", `-${c.level ?? DEFAULT_ZSTD_LEVEL}`, "-T2", "-c", "-"], input, signal);
    case "gzip": {
      const output = new PassThrough({ highWaterMark: 1 << 20 });
      return { output, done: pipeline(input, createGzip({ level: c.level ?? DEFAULT_GZIP_LEVEL }), output, { signal }) };
    }
    case "none":
      return { output: input, done: finished(input, { signal }) };
  }
}

function spawnZstd(args: string[], input: Readable, signal: AbortSignal): Compression {
  const direct = hasPipeFd(input);
  const child = spawn("zstd", args, { stdio: [direct ? input : "pipe", "pipe", "pipe"], signal });
  // Listened to before anything else: a spawn that fails (no descriptors left: EMFILE) emits
  // its error on the next tick, and an unheard error event would end the whole daemon.
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
      else reject(new OperationError(`zstd ${sig ? `was killed by ${sig}` : `exited ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ""}`));
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
    return { output, done: exited };
  }
  // The child holds its own copy of the pipe; ours must close, or the producer would
  // never see the pipe break when zstd dies.
  if (direct) input.destroy();
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-2000)));
  const feeding = direct ? Promise.resolve() : pipeline(input, child.stdin!);
  return { output: child.stdout, done: Promise.all([feeding, exited]).then(() => undefined) };
}

/**
 * The inverse, for restore. zstd's output is a pipe the caller can hand to the next
 * process (pg_restore) directly, so the plain dump never passes through this process.
 */
export function decompress(algorithm: CompressionConfig["algorithm"], input: Readable, signal: AbortSignal): Compression {
  switch (algorithm) {
    case "zstd":
      return spawnZstd(["-q", "-d", "-c", "-"], input, signal);
    case "gzip": {
      const output = new PassThrough({ highWaterMark: 1 << 20 });
      return { output, done: pipeline(input, createGunzip(), output, { signal }) };
    }
    case "none":
      return { output: input, done: finished(input, { signal }) };
  }
}
