import { readFileSync, statSync } from "node:fs";
import { UsageError } from "../errors.js";

/**
 * Commands run as the state dir's owner (the drd user): run as anyone else, root above
 * all, they would leave catalog rows and backups that user cannot read, and the daemon
 * would fail on them later. A state dir that does not exist yet is made by whoever runs.
 */
export function assertStateDirOwner(stateDir: string, allowOtherUser: boolean, uid = process.getuid?.()): void {
  if (uid === undefined || allowOtherUser) return;
  let owner: number;
  try {
    owner = statSync(stateDir).uid;
  } catch {
    return;
  }
  if (owner === uid) return;
  const name = userName(owner);
  throw new UsageError(
    `the state dir ${stateDir} belongs to ${name ?? `uid ${owner}`}, not to the user running drctl (uid ${uid}): run it as that user (sudo -u ${name ?? `#${owner}`} drctl ...), or pass --allow-root to go ahead anyway`,
  );
}

function userName(uid: number): string | undefined {
  try {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[2] === String(uid))?.[0];
  } catch {
    return undefined;
  }
}
