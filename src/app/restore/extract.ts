import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, lstat } from "node:fs/promises";
import { posix } from "node:path";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { IntegrityError } from "../../errors.js";
import type { FilesDetails } from "../../manifest.js";

/**
 * Why an archive entry must not be extracted under the target directory, or undefined.
 * Nothing may land outside it: absolute paths, `..`, entries that pass through a symlink
 * and hard links that point out are refused. Symlinks themselves are restored verbatim
 * (their targets are data: /etc often links into /etc/ssl/certs) and never followed.
 */
export function entryProblem(path: string, type: string, linkpath: string | undefined, symlinks: ReadonlySet<string>): string | undefined {
  const clean = path.replace(/\/+$/, "");
  if (clean.startsWith("/") || /^[A-Za-z]:/.test(clean)) return `absolute path ${path}`;
  const parts = clean.split("/");
  if (parts.includes("..")) return `path with .. ${path}`;
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i).join("/");
    if (symlinks.has(ancestor)) return `${path} would be written through the symlink ${ancestor}`;
  }
  if (symlinks.has(clean) && type !== "SymbolicLink") return `${path} would be written through the symlink ${clean}`;
  if (type === "Link") {
    if (!linkpath || linkpath.startsWith("/") || posix.normalize(linkpath).split("/").includes("..")) return `hard link ${path} points outside: ${linkpath}`;
  }
  if (!["File", "OldFile", "Directory", "SymbolicLink", "Link"].includes(type)) return `unsupported entry type ${type} for ${path}`;
  return undefined;
}

/** Extracts a tar stream into `dir`, refusing hostile entries, then checks every file against the manifest. */
export async function extractSafely(plain: Readable, dir: string, files: FilesDetails | undefined, asRoot: boolean): Promise<number> {
  const symlinks = new Set<string>();
  let refused: string | undefined;
  const unpack = tar.x({
    cwd: dir,
    strict: true,
    // Paths are checked by entryProblem; this keeps symlink targets as archived.
    preservePaths: true,
    preserveOwner: asRoot,
    filter: (path, entry) => {
      const e = entry as tar.ReadEntry;
      const problem = refused ?? entryProblem(path, e.type, e.linkpath, symlinks);
      if (problem) {
        // Skip this and every later entry, and let extraction run to its end: when it
        // settles, every write already started is finished and the caller can remove it.
        refused ??= problem;
        return false;
      }
      if (e.type === "SymbolicLink") symlinks.add(path.replace(/\/+$/, ""));
      return true;
    },
  });
  try {
    await pipeline(plain, unpack);
  } catch (err) {
    if (refused) throw new IntegrityError(`hostile archive refused: ${refused}`);
    throw err instanceof IntegrityError ? err : new IntegrityError(`the archive is damaged: ${(err as Error).message}`);
  }
  if (refused) throw new IntegrityError(`hostile archive refused: ${refused}`);
  return files ? checkAgainstManifest(dir, files) : 0;
}

/**
 * Checks every regular file's sha256 against the manifest and sets every file's and
 * directory's mode to the recorded one (the process umask would otherwise narrow them).
 */
async function checkAgainstManifest(dir: string, files: FilesDetails): Promise<number> {
  let checked = 0;
  for (const entry of [...files.entries].reverse()) {
    if (entry.type === "file" || entry.type === "directory") await chmod(join(dir, entry.path), entry.mode & 0o7777).catch(() => undefined);
  }
  for (const entry of files.entries) {
    if (entry.type !== "file") continue;
    const path = join(dir, entry.path);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile()) throw new IntegrityError(`restored ${entry.path} is missing`);
    const hash = createHash("sha256");
    await pipeline(createReadStream(path), async function* (source) {
      for await (const chunk of source) hash.update(chunk as Buffer);
    });
    const sha = hash.digest("hex");
    if (sha !== entry.sha256) throw new IntegrityError(`restored ${entry.path} does not match the manifest: sha256 ${sha}, expected ${entry.sha256}`);
    checked++;
  }
  return checked;
}
