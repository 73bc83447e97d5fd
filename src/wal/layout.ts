import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";

/**
 * Where a cluster job's WAL lives. On a target: `<job>/wal/<name><ext>` (one object per
 * segment, so stock tools fetch it), with `<name>.json`, its record, and `<name>.json.sig`,
 * the record's detached signature. A backup id never is "wal", so these never look like a
 * backup. On the server: the spool pg_receivewal writes into, in the state dir.
 */
export function walPrefix(job: string): string {
  return `${job}/wal/`;
}

export function spoolDir(stateDir: string, job: string): string {
  return join(stateDir, "wal", job);
}

/** A completed segment (24 hex digits) or a timeline history file, as pg_receivewal names them. */
const COMPLETE = /^(?:[0-9A-F]{24}|[0-9A-F]{8}\.history)$/;

export function isCompleteWalFile(name: string): boolean {
  return COMPLETE.test(name);
}

/**
 * The replication slot of a job: slot names take only [a-z0-9_] and 63 bytes, job names
 * more. The readable part is the job's name mapped; a hash of the exact name keeps two jobs
 * that map alike ("app-1", "app_1") apart.
 */
export function slotName(job: string): string {
  const readable = job.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 50);
  return `drd_${readable}_${createHash("sha256").update(job).digest("hex").slice(0, 8)}`;
}

export const WAL_RECORD_FORMAT = "drd-wal-1";

/** What the signed record beside each stored WAL file says of it. */
export const walRecordSchema = z.object({
  format: z.literal(WAL_RECORD_FORMAT),
  job: z.string().min(1).max(255),
  /** The WAL file's own name (a segment, or a .history file). */
  name: z.string().regex(COMPLETE),
  /** The stored object's name beside the record, its size and sha256. */
  object: z.object({ name: z.string().min(1).max(255), size: z.int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The WAL file's own size and sha256, before compression and encryption. */
  content: z.object({ size: z.int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  compression: z.enum(["zstd", "gzip", "none"]),
  encryption: z.enum(["public-key", "passphrase"]).nullable(),
  system_identifier: z.string().regex(/^\d{1,20}$/),
  stored_at: z.iso.datetime(),
});
export type WalRecord = z.infer<typeof walRecordSchema>;
