import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILD, VERSION } from "../version.js";
import { BOOT_ID, isClaimAlive } from "./process.js";

/** What the running daemon wrote about itself in the state dir: who it is and which build runs. */
export interface DaemonRecord {
  pid: number;
  version: string;
  build: string;
}

const FILE = "daemon.pid";

/** Written by the daemon once it holds its lock: its pid on the first line (for people and scripts), then its build. */
export function writeDaemonRecord(stateDir: string): void {
  writeFileSync(join(stateDir, FILE), `${process.pid}\n${VERSION} ${BUILD} ${BOOT_ID}\n`, { mode: 0o600 });
}

/** The daemon that runs on this state dir now, if one does (its record, and its pid alive on this boot). */
export function runningDaemon(stateDir: string): DaemonRecord | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, FILE), "utf8");
  } catch {
    return undefined;
  }
  const [pidLine, buildLine] = text.split("\n");
  const pid = Number(pidLine);
  const [version, build, bootId] = (buildLine ?? "").split(" ");
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isClaimAlive({ pid, boot_id: bootId ?? null })) return undefined;
  return { pid, version: version || "unknown", build: build || "unknown" };
}

/** The pid recorded, alive or not: for the message a second daemon prints. */
export function recordedPid(stateDir: string): string | undefined {
  try {
    return readFileSync(join(stateDir, FILE), "utf8").split("\n")[0]!.trim() || undefined;
  } catch {
    return undefined;
  }
}
