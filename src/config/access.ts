import { accessSync, constants, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";

/** Who a check is made for: the process itself, or another user judged from modes and owners. */
export type Principal = { kind: "self" } | { kind: "user"; name: string; uid: number; gids: number[] };

export type AccessNeed = "read" | "write" | "search";

/**
 * Whether `who` may read (or write, or search) `path`, and why not. For the process itself
 * the kernel answers (access(2)); for another user (config check run by root on the drd
 * user's behalf) the mode bits of the path and of every directory above it decide, which is
 * what the kernel does when no ACL is set.
 */
export function accessProblem(path: string, need: AccessNeed, who: Principal): string | undefined {
  if (who.kind === "self") {
    try {
      accessSync(path, need === "read" ? constants.R_OK : need === "write" ? constants.W_OK : constants.X_OK);
      return undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? "error";
    }
  }
  const full = resolve(path);
  // Every directory above must be searchable by the user.
  const parents: string[] = [];
  for (let dir = dirname(full); ; dir = dirname(dir)) {
    parents.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of parents) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (!st) return "ENOENT";
    if (!permits(st, "search", who)) return `EACCES (${who.name} cannot enter ${dir})`;
  }
  const st = statSync(full, { throwIfNoEntry: false });
  if (!st) return "ENOENT";
  return permits(st, need, who) ? undefined : "EACCES";
}

/** The classic Unix rule: the owner's bits, else the group's, else everyone's. */
export function permits(st: Pick<Stats, "mode" | "uid" | "gid">, need: AccessNeed, who: { uid: number; gids: number[] }): boolean {
  // Root passes every mode check (a read-only mount is the kernel's to report).
  if (who.uid === 0) return true;
  const bit = need === "read" ? 4 : need === "write" ? 2 : 1;
  const shift = st.uid === who.uid ? 6 : who.gids.includes(st.gid) ? 3 : 0;
  return ((st.mode >> shift) & bit) !== 0;
}
