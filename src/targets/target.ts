import type { Readable } from "node:stream";

/** Where a backup's objects live: `<job>/<backup id>/<artifact>`; the manifest is written last. */
export const MANIFEST_NAME = "manifest.json";
/** The manifest's detached OpenPGP signature, written just before it. */
export const SIGNATURE_NAME = "manifest.json.sig";

export function backupPrefix(job: string, backupId: string): string {
  return `${job}/${backupId}/`;
}

export interface PutResult {
  size: number;
  sha256: string;
  /**
   * The store itself computed a checksum over the whole object that matches the bytes
   * sent (S3: the MD5 ETag), so the copy is verified without reading it back.
   */
  storeVerified?: boolean;
  /** The version the store gave the object (a versioned S3 bucket): reads ask for exactly it. */
  version?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface PutOptions {
  /**
   * Awaited after every byte is durable and before the object becomes visible under its
   * key; if it rejects, the object is discarded. A source uses it to say "my process
   * exited 0", so a truncated stream never becomes an object.
   */
  ready?: () => Promise<unknown>;
  /**
   * The stream carries exactly the bytes of another put (a branch of the same fan-out):
   * the target may take that put's sha256 instead of hashing every byte again.
   */
  sameBytesAs?: Promise<PutResult>;
  /** About how many bytes to expect, when known (the same artifact's size last time). */
  expectedSize?: number;
  /** Aborts the put (shutdown): nothing becomes visible, the put rejects with the reason. */
  signal?: AbortSignal;
}

/**
 * One storage interface for every kind of target. Each put is atomic: a reader sees the
 * whole object under its key or nothing. Keys use "/" and never contain "." or ".." parts.
 */
export interface Target {
  readonly name: string;
  /** Human-readable place of a key, as recorded in the catalog (a path or an s3:// URL). */
  locate(key: string): string;
  put(key: string, data: Readable, options?: PutOptions): Promise<PutResult>;
  /**
   * Rejects with ObjectNotFoundError when the key does not exist. With `version` (one a put
   * returned), that version and no other: an overwrite in a versioned bucket cannot replace it.
   */
  get(key: string, version?: string): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(keys: string[]): Promise<void>;
  /** Stores that keep versions (S3 with Object Lock): keys under `prefix` hidden behind a delete marker. */
  hidden?(prefix: string): Promise<string[]>;
  /**
   * Removes what interrupted puts of dead processes left behind; returns how many were
   * removed. `isWriterAlive` tells whether the process `pid` that last wrote at `writtenAt`
   * (ms) may still be writing.
   */
  removeLeftovers(isWriterAlive: (pid: number, writtenAt: number) => boolean): Promise<number>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly location: string) {
    super(`${location} does not exist`);
  }
}

export function assertSafeKey(key: string): void {
  const parts = key.split("/");
  if (!key || key.startsWith("/") || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new Error(`unsafe object key ${JSON.stringify(key)}`);
}
