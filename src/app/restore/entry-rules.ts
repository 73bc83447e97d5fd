import type { FileEntry } from "../../manifest.js";

/** What an accepted archive entry made, by its normalized path. */
export type Made = "file" | "directory" | "symlink";

/**
 * An archive entry's path as parts, or why it may not be used: absolute paths, drive
 * letters, NUL bytes and `..` are refused; "." and empty parts are dropped, so `a/./b`
 * and `a//b` name the same place as `a/b`. The root itself is [].
 */
export function pathParts(path: string): string[] | string {
  if (path.includes("\0")) return `path with a NUL byte ${JSON.stringify(path)}`;
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return `absolute path ${path}`;
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return `path with .. ${path}`;
  return parts;
}

const KINDS: Record<string, Made | "hardlink"> = { File: "file", OldFile: "file", ContiguousFile: "file", Directory: "directory", SymbolicLink: "symlink", Link: "hardlink" };

/**
 * Decides, entry by entry in archive order, what a restore may extract, so that nothing is
 * written, linked or changed outside the directory. It works on what the archive itself
 * made (the directory starts empty), never on what is on disk:
 * - a path goes below directories only: never through a symlink or a file the archive made;
 * - each path appears once: a later entry never replaces an earlier one (a symlink turned
 *   into a file, a directory entry over a symlink);
 * - a hard link points at a regular file the archive already made, by a path that obeys
 *   the same rules (a link through a symlink would be a second name of a file outside);
 * - only files, directories, symlinks and hard links; symlink targets are data, never followed.
 */
export class EntryRules {
  private readonly made = new Map<string, Made>();
  /** Accepted entries in order, as the manifest describes them. */
  readonly accepted: { path: string; type: FileEntry["type"] }[] = [];

  /** Why `path` must not be extracted, or undefined (and the entry is recorded). */
  check(path: string, type: string, linkpath: string | undefined): string | undefined {
    const kind = KINDS[type];
    if (!kind) return `unsupported entry type ${type} for ${path}`;
    const parts = pathParts(path);
    if (typeof parts === "string") return parts;
    if (parts.length === 0) {
      // The archive's own root ("./" when a job archives "/"): the directory itself.
      if (kind !== "directory") return `${type} entry for the restore directory itself`;
      this.accepted.push({ path, type: "directory" });
      return undefined;
    }
    const through = this.blockedAncestor(parts);
    if (through) return `${path} would be written through the ${through}`;
    const key = parts.join("/");
    if (this.made.has(key)) return `${path} appears twice in the archive: a later entry would replace the ${this.made.get(key)} made earlier`;
    if (kind === "hardlink") {
      const problem = this.linkProblem(path, linkpath);
      if (problem) return problem;
    }
    if (kind === "symlink" && !linkpath) return `symlink ${path} has no target`;
    for (let i = 1; i < parts.length; i++) this.made.set(parts.slice(0, i).join("/"), "directory");
    this.made.set(key, kind === "hardlink" ? "file" : kind);
    this.accepted.push({ path, type: kind === "hardlink" ? "other" : kind });
    return undefined;
  }

  private blockedAncestor(parts: string[]): string | undefined {
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join("/");
      const made = this.made.get(ancestor);
      if (made && made !== "directory") return `${made} ${ancestor}`;
    }
    return undefined;
  }

  private linkProblem(path: string, linkpath: string | undefined): string | undefined {
    if (!linkpath) return `hard link ${path} has no target`;
    const parts = pathParts(linkpath);
    if (typeof parts === "string" || parts.length === 0) return `hard link ${path} points outside: ${linkpath}`;
    const through = this.blockedAncestor(parts);
    if (through) return `hard link ${path} points through the ${through}: ${linkpath}`;
    if (this.made.get(parts.join("/")) !== "file") return `hard link ${path} points at ${linkpath}, which is not a file extracted before it`;
    return undefined;
  }
}

/**
 * Where the archive's entries and the manifest's list disagree, or undefined. The manifest
 * is what a restore checks and sets modes by: it may name nothing the archive did not make.
 */
export function manifestMismatch(accepted: EntryRules["accepted"], entries: readonly FileEntry[]): string | undefined {
  const key = (p: string) => {
    const parts = pathParts(p);
    return typeof parts === "string" ? undefined : parts.join("/");
  };
  const archived = new Map(accepted.map((e) => [key(e.path)!, e.type]));
  const listed = new Set<string>();
  for (const entry of entries) {
    const k = key(entry.path);
    if (k === undefined) return `the manifest lists an unsafe path ${JSON.stringify(entry.path)}`;
    if (listed.has(k)) return `the manifest lists ${entry.path} twice`;
    listed.add(k);
    const type = archived.get(k);
    if (type === undefined) return `the manifest lists ${entry.path}, which the archive does not hold`;
    if (type !== entry.type) return `the manifest lists ${entry.path} as a ${entry.type}, the archive holds a ${type === "other" ? "hard link" : type}`;
  }
  for (const k of archived.keys()) if (!listed.has(k)) return `the archive holds ${k || "."}, which the manifest does not list`;
  return undefined;
}
