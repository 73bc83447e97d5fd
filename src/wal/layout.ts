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

/** The segment pg_receivewal is writing: it renames it without the suffix once full. */
export const OPEN_SEGMENT = /^([0-9A-F]{24})\.partial$/;

/**
 * A stored partial copy of a segment is named by the segment and how many of its bytes it
 * is known to hold (hex): `<segment>.<covered>.partial`. Each copy has a name of its own, so
 * a newer one is complete on a target before the older one is removed.
 */
const PARTIAL = /^([0-9A-F]{24})\.([0-9A-F]{8})\.partial$/;

export function partialName(segment: string, covered: number): string {
  return `${segment}.${covered.toString(16).toUpperCase().padStart(8, "0")}.partial`;
}

export function parsePartialName(name: string): { segment: string; covered: number } | undefined {
  const m = PARTIAL.exec(name);
  return m ? { segment: m[1]!, covered: Number.parseInt(m[2]!, 16) } : undefined;
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
  /** The WAL file's own name (a segment, or a .history file), or a partial copy's name. */
  name: z.string().refine((n) => COMPLETE.test(n) || PARTIAL.test(n), "a WAL file name"),
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
