import { closeSync, openSync, readdirSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Every file below `dir` (relative paths), or [] when it does not exist. */
export function filesBelow(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

export async function waitFor<T>(probe: () => T | undefined, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Inverts the bits of one byte of a file in place: a copy corrupted on its medium. */
export function flipByte(path: string, offset: number): void {
  const fd = openSync(path, "r+");
  try {
    const buf = Buffer.alloc(1);
    readSync(fd, buf, 0, 1, offset);
    buf[0] = buf[0]! ^ 0xff;
    writeSync(fd, buf, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}
