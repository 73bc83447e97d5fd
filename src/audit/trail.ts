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
 * Appends one entry, chained to the line before it, and fsyncs. Callers serialize appends
 * across processes (the catalog's write lock), so two never chain to the same line.
 */
export function appendAudit(path: string, entry: AuditEntry, at: number, actor: Actor = currentActor()): void {
  const fd = openSync(path, "a+", 0o600);
  try {
    const before = lastLine(fd);
    const line = JSON.stringify({ time: new Date(at).toISOString(), ...entry, actor, prev: before === undefined ? GENESIS : sha256(before) });
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export type ChainCheck = { ok: true; lines: number } | { ok: false; line: number; problem: string };

/** Walks the chain from the first line; the first line that does not follow from the one before it is where it breaks. */
export function verifyAudit(path: string): ChainCheck {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, lines: 0 };
    throw err;
  }
  if (text && !text.endsWith("\n")) return { ok: false, line: text.split("\n").length, problem: "the last line is cut short" };
  const lines = text.split("\n").slice(0, -1);
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
  }
  return { ok: true, lines: lines.length };
}
