import { constants } from "node:fs";
import { access, lstat, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import picomatch from "picomatch";
import { OperationError } from "../errors.js";

export interface WalkResult {
  /** Absolute paths to archive, parents before children, sorted. */
  include: string[];
  unreadable: string[];
  /** Entries tar cannot hold (sockets, devices, FIFOs). */
  unsupported: string[];
}

/**
 * Lists what a files job archives. Readability is checked up front so that one
 * unreadable file is reported by name (or skipped, if the job says so) instead of
 * aborting the archive half-way.
 */
export async function walk(paths: string[], exclude: string[]): Promise<WalkResult> {
  const isExcluded = exclude.length > 0 ? picomatch(exclude, { dot: true }) : () => false;
  const excluded = (p: string) => isExcluded(p) || isExcluded(basename(p));
  const result: WalkResult = { include: [], unreadable: [], unsupported: [] };
  const seen = new Set<string>();

  async function visit(path: string, top: boolean): Promise<void> {
    if (seen.has(path) || (!top && excluded(path))) return;
    seen.add(path);
    const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (top && err.code === "ENOENT") throw new OperationError(`path ${path} does not exist`);
      if (err.code === "EACCES") return "unreadable" as const;
      throw new OperationError(`cannot read ${path}: ${err.code ?? err.message}`);
    });
    if (info === "unreadable") {
      result.unreadable.push(path);
      return;
    }
    if (info.isSymbolicLink()) {
      result.include.push(path);
    } else if (info.isFile()) {
      if (await readable(path, constants.R_OK)) result.include.push(path);
      else result.unreadable.push(path);
    } else if (info.isDirectory()) {
      if (!(await readable(path, constants.R_OK | constants.X_OK))) {
        result.unreadable.push(path);
        return;
      }
      result.include.push(path);
      const children = (await readdir(path)).sort();
      for (const child of children) await visit(join(path, child), false);
    } else {
      result.unsupported.push(path);
    }
  }

  for (const path of paths) await visit(path.replace(/(.)\/+$/, "$1"), true);
  return result;
}

async function readable(path: string, mode: number): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}
