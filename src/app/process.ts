import { readFileSync } from "node:fs";
import { uptime } from "node:os";

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** This boot of the machine: pids are reused across reboots, so a claim names both. */
export const BOOT_ID = (() => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
})();

/** When this machine booted (ms since the epoch): a file from before was written by no live process. */
export const BOOTED_AT = Date.now() - uptime() * 1000;

/**
 * Whether the process that claimed something (a run, a drill) is still at it: same boot
 * and the pid alive. A claim from before a reboot is dead even if its pid was reused.
 * Claims recorded without a boot id fall back to the pid alone.
 */
export function isClaimAlive(claim: { pid: number | null; boot_id?: string | null }): boolean {
  if (claim.pid === null) return false;
  if (claim.boot_id && BOOT_ID && claim.boot_id !== BOOT_ID) return false;
  return isProcessAlive(claim.pid);
}
