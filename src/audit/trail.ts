import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, readSync, fstatSync, writeSync } from "node:fs";
import { userInfo } from "node:os";

/**
 * The audit trail: one JSON object a line, append-only, 0600. Each line carries the sha256
 * of the line before it (`prev`; 64 zeros for the first), so a line removed, edited or
 * reordered breaks the chain where it happened. It records who did what to which backup,
 * never a secret: only names, ids, targets, paths and outcomes.
 */
export interface AuditEntry {
  event: "restore" | "drill" | "prune_delete" | "verify_failed" | "catalog_rebuild" | "config_reload" | "key_use" | "keys_init";
  outcome: "ok" | "failed" | "refused";
  job?: string | null;
  backup_id?: string | null;
  target?: string | null;
  detail?: Record<string, unknown>;
}

export interface Actor {
  uid: number | null;
  user: string | null;
  sudo_user: string | null;
  /** The daemon on its schedule, or a command someone ran. */
  via: "daemon" | "command";
}

export const GENESIS = "0".repeat(64);

/** Who is acting: set to "daemon" once by `drctl daemon`. */
let via: Actor["via"] = "command";
export function actingAsDaemon(): void {
  via = "daemon";
}

export function currentActor(): Actor {
  let user: string | null = null;
  try {
    user = userInfo().username;
  } catch {
    user = null;
  }
  return { uid: process.getuid?.() ?? null, user, sudo_user: process.env.SUDO_USER ?? null, via };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The last line of the file (without its newline), reading only its tail. */
function lastLine(fd: number): string | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  for (let span = 4096; ; span *= 4) {
    const start = Math.max(0, size - span);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString("utf8").replace(/\n$/, "");
    const nl = text.lastIndexOf("\n");
    if (nl >= 0 || start === 0) return text.slice(nl + 1);
  }
}

/**
 * Where the trail stands: how many lines, and the sha256 of the last (GENESIS when empty).
 * Kept in the catalog after each append and in each signed manifest, so a trail cut short,
 * emptied, deleted or rewritten with fresh hashes no longer reaches it.
 */
export interface AuditAnchor {
  lines: number;
  head: string;
}

/** Counts the lines of the file (its size grows slowly: a few hundred bytes per entry). */
function countLines(fd: number): number {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(1 << 16);
  let lines = 0;
  for (let pos = 0; pos < size; ) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    for (let i = 0; i < n; i++) if (buf[i] === 0x0a) lines++;
    pos += n;
  }
  return lines;
}

/**
 * Appends one entry, chained to the line before it, and fsyncs; returns the new anchor.
 * Callers serialize appends across processes (the catalog's write lock), so two never
 * chain to the same line. `known` (the anchor after the previous append) saves counting.
 */
export function appendAudit(path: string, entry: AuditEntry, at: number, actor: Actor = currentActor(), known?: AuditAnchor): AuditAnchor {
  const fd = openSync(path, "a+", 0o600);
  try {
    const before = lastLine(fd);
    const prev = before === undefined ? GENESIS : sha256(before);
    const lines = known && known.head === prev ? known.lines : countLines(fd);
    const line = JSON.stringify({ time: new Date(at).toISOString(), ...entry, actor, prev });
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
    return { lines: lines + 1, head: sha256(line) };
  } finally {
    closeSync(fd);
  }
}

export type ChainCheck = { ok: true; lines: number; head: string } | { ok: false; line: number; problem: string };

/**
 * Walks the chain from the first line; the first line that does not follow from the one
 * before it is where it breaks. Then each anchor (what the catalog and the signed manifests
 * recorded) must still be on the chain: line `lines` must hash to `head`.
 */
export function verifyAudit(path: string, anchors: { source: string; anchor: AuditAnchor }[] = []): ChainCheck {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    text = "";
    const recorded = anchors.find((a) => a.anchor.lines > 0);
    if (recorded) return { ok: false, line: 1, problem: `the trail is missing, but ${recorded.source} recorded ${recorded.anchor.lines} line(s)` };
  }
  if (text && !text.endsWith("\n")) return { ok: false, line: text.split("\n").length, problem: "the last line is cut short" };
  const lines = text.split("\n").slice(0, -1);
  const heads: string[] = [];
  let prev = GENESIS;
  for (const [i, line] of lines.entries()) {
    let parsed: { prev?: unknown };
    try {
      parsed = JSON.parse(line) as { prev?: unknown };
    } catch {
      return { ok: false, line: i + 1, problem: "not a JSON object" };
    }
    if (parsed.prev !== prev) return { ok: false, line: i + 1, problem: i === 0 ? "the first line does not start the chain (lines before it were removed)" : "it does not carry the sha256 of the line before it (that line was edited or removed)" };
    prev = sha256(line);
    heads.push(prev);
  }
  for (const { source, anchor } of anchors) {
    if (anchor.lines === 0) continue;
    if (lines.length < anchor.lines)
      return { ok: false, line: lines.length + 1, problem: `the trail has ${lines.length} line(s), but ${source} recorded ${anchor.lines}: lines were removed from its end` };
    if (heads[anchor.lines - 1] !== anchor.head)
      return { ok: false, line: anchor.lines, problem: `line ${anchor.lines} is not the one ${source} recorded (sha256 ${anchor.head}): the trail was rewritten` };
  }
  return { ok: true, lines: lines.length, head: prev };
}
