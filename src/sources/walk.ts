import { constants, type Stats } from "node:fs";
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
  /** Whether `enough` stopped the walk before every entry was seen. */
  partial: boolean;
}

export interface WalkOptions {
  /**
   * Whether the entry can be read (a directory: listed and entered) by whoever backs it up.
   * Default: this process, by access(2); config check asks it for the daemon's user.
   */
  canRead?: (path: string, info: Stats) => boolean | Promise<boolean>;
  /** Asked before each entry: true stops the walk (a deadline passed, enough was found). */
  enough?: (sofar: WalkResult) => boolean;
}

const byThisProcess = (path: string, info: Stats) => readable(path, info.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);

/**
 * Lists what a files job archives. Readability is checked up front so that one
 * unreadable file is reported by name (or skipped, if the job says so) instead of
 * aborting the archive half-way.
 */
export async function walk(paths: string[], exclude: string[], options: WalkOptions = {}): Promise<WalkResult> {
  const canRead = options.canRead ?? byThisProcess;
  const isExcluded = exclude.length > 0 ? picomatch(exclude, { dot: true }) : () => false;
  const excluded = (p: string) => isExcluded(p) || isExcluded(basename(p));
  const result: WalkResult = { include: [], unreadable: [], unsupported: [], partial: false };
  const seen = new Set<string>();

  async function visit(path: string, top: boolean): Promise<void> {
    if (seen.has(path) || (!top && excluded(path))) return;
    if (result.partial || options.enough?.(result)) {
      result.partial = true;
      return;
    }
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
      if (await canRead(path, info)) result.include.push(path);
      else result.unreadable.push(path);
    } else if (info.isDirectory()) {
      if (!(await canRead(path, info))) {
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
