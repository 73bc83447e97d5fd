import { PassThrough, type Duplex } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import { execa } from "execa";
import type { CompressionConfig } from "../config/schema.js";

/** File-name extension each algorithm adds. */
export function compressionExtension(c: CompressionConfig): string {
  return c.algorithm === "zstd" ? ".zst" : c.algorithm === "gzip" ? ".gz" : "";
}

export const DEFAULT_ZSTD_LEVEL = 3;
export const DEFAULT_GZIP_LEVEL = 6;

/**
 * A compressing stream. zstd runs as the stock `zstd` process with two threads: Node 20's
 * zlib has no zstd, and a separate process keeps compression off the event loop so that
 * it runs on the other core while this one encrypts and writes.
 */
export function createCompressor(c: CompressionConfig, signal?: AbortSignal): Duplex {
  switch (c.algorithm) {
    case "zstd":
      return execa("zstd", ["-q", `-${c.level ?? DEFAULT_ZSTD_LEVEL}`, "-T2", "-c", "-"], {
        buffer: false,
        stderr: "pipe",
        cancelSignal: signal,
      }).duplex();
    case "gzip":
      return createGzip({ level: c.level ?? DEFAULT_GZIP_LEVEL });
    case "none":
      return new PassThrough();
  }
}

/** The inverse, for restore and verification of content. */
export function createDecompressor(algorithm: CompressionConfig["algorithm"], signal?: AbortSignal): Duplex {
  switch (algorithm) {
    case "zstd":
      return execa("zstd", ["-q", "-d", "-c", "-"], { buffer: false, stderr: "pipe", cancelSignal: signal }).duplex();
    case "gzip":
      return createGunzip();
    case "none":
      return new PassThrough();
  }
}
