import { join } from "node:path";

/**
 * Archive mode's hand-off of one WAL file from `drctl wal push` (PostgreSQL's
 * archive_command, running as the server's OS user, which cannot read drd's config, keys or
 * state) to the daemon, over the job's Unix socket:
 *
 *   client: "drd-wal-push 1 {"job":..,"name":..,"size":..}\n" then exactly `size` bytes
 *   daemon: "ok <detail>\n" once the file is durable on the job's first target,
 *           or "error <why>\n"
 *
 * This module imports nothing but Node: the client starts once per WAL file, and its start
 * is part of how fast the server can archive.
 */
export const PUSH_MAGIC = "drd-wal-push 1 ";
/** Where the daemon listens for a job's hand-offs unless its config says `wal.socket`. */
export const DEFAULT_WAL_SOCKET_DIR = "/run/drd/wal";
/** A header is one short line; anything longer is not a client of this protocol. */
export const PUSH_HEADER_MAX = 1024;

export interface PushHeader {
  job: string;
  name: string;
  size: number;
}

export function defaultWalSocket(job: string): string {
  return join(DEFAULT_WAL_SOCKET_DIR, `${job}.sock`);
}

export function formatPushHeader(h: PushHeader): string {
  return `${PUSH_MAGIC}${JSON.stringify({ job: h.job, name: h.name, size: h.size })}\n`;
}

/** The header line without its newline, or why it is not one. */
export function parsePushHeader(line: string): PushHeader | { error: string } {
  if (!line.startsWith(PUSH_MAGIC)) return { error: "not a drd-wal-push 1 header" };
  let data: unknown;
  try {
    data = JSON.parse(line.slice(PUSH_MAGIC.length));
  } catch {
    return { error: "the header is not JSON" };
  }
  const h = data as Partial<PushHeader>;
  if (typeof h.job !== "string" || typeof h.name !== "string" || !Number.isSafeInteger(h.size) || h.size! < 0) return { error: "the header lacks job, name or size" };
  return { job: h.job, name: h.name, size: h.size! };
}

/** What the daemon does with a file PostgreSQL archives, by its name. */
export type PushedKind = "segment" | "history" | "ignored";

/**
 * Segments and timeline history files are kept. PostgreSQL also archives a `.backup` label
 * per base backup (drd's manifest records the same range) and, after a promotion, the old
 * timeline's last segment as `.partial` (the new timeline's first segment holds the same
 * WAL up to the switch): both are acknowledged and not kept, so the server's archiving
 * goes on. Anything else is refused.
 */
export function pushedKind(name: string): PushedKind | undefined {
  if (/^[0-9A-F]{24}$/.test(name)) return "segment";
  if (/^[0-9A-F]{8}\.history$/.test(name)) return "history";
  if (/^[0-9A-F]{24}(?:\.[0-9A-F]{8}\.backup|\.partial)$/.test(name)) return "ignored";
  return undefined;
}
