import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/app/process.js
import { readFileSync } from "node:fs";
import { uptime } from "node:os";
function isProcessAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}
var BOOT_ID = (() => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
})();
var BOOTED_AT = Date.now() - uptime() * 1e3;
function isClaimAlive(claim) {
  if (claim.pid === null)
    return false;
  if (claim.boot_id && BOOT_ID && claim.boot_id !== BOOT_ID)
    return false;
  return isProcessAlive(claim.pid);
}

export {
  isProcessAlive,
  BOOT_ID,
  BOOTED_AT,
  isClaimAlive
};
