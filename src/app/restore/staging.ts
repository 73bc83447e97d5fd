import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { BOOT_ID, BOOTED_AT, isProcessAlive } from "../process.js";

/**
 * A restore downloads each artifact into a staging directory in state_dir (the artifact's
 * whole size, compressed and encrypted as stored) and checks it there before anything
 * uses it. The directory's name says who owns it (`restore-<pid>-<boot>-XXXXXX`), set in
 * the same mkdtemp that creates it, so a leftover of a killed restore is known as such and
 * a live restore's staging is never taken for one.
 */
export function makeStaging(stateDir: string): Promise<string> {
  return mkdtemp(join(stateDir, `restore-${process.pid}-${BOOT_ID.slice(0, 8)}-`));
}

const OWNED = /^restore-(\d+)-([0-9a-f]{0,8})-/;

/** Removes the staging directories of restores whose process is gone; returns how many. */
export async function removeDeadStaging(stateDir: string): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(stateDir).catch(() => [] as string[])) {
    if (!entry.startsWith("restore-")) continue;
    const path = join(stateDir, entry);
    const owner = OWNED.exec(entry);
    const dead = owner
      ? (owner[2] !== "" && BOOT_ID !== "" && !BOOT_ID.startsWith(owner[2]!)) || !isProcessAlive(Number(owner[1]))
      : // Named before staging said its owner: only one from before this boot is surely dead.
        ((await stat(path).catch(() => undefined))?.mtimeMs ?? Infinity) < BOOTED_AT;
    if (!dead) continue;
    await rm(path, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
