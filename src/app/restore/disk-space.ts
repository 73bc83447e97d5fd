import { statfs } from "node:fs/promises";
import { OperationError } from "../../errors.js";

/** Free bytes for an unprivileged writer on the filesystem holding `path` (undefined when unknown). */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const fs = await statfs(path);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/** A write failed because the filesystem (or the user's quota) is full. */
export function isFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Exit 1 naming the full filesystem and how much the restore needed there: never "damaged". */
export async function noSpace(dir: string, what: string, needed: number): Promise<OperationError> {
  const free = await freeBytes(dir);
  return new OperationError(`no space left on the filesystem of ${dir} ${what}: it needs ${needed} bytes${free === undefined ? "" : `, ${free} are free`}`);
}
