import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  UsageError
} from "./chunk-RSPIC3EP.js";

// dist/app/state-owner.js
import { readFileSync, statSync } from "node:fs";
function assertStateDirOwner(stateDir, allowOtherUser, uid = process.getuid?.()) {
  if (uid === void 0 || allowOtherUser)
    return;
  let owner;
  try {
    owner = statSync(stateDir).uid;
  } catch {
    return;
  }
  if (owner === uid)
    return;
  const name = userName(owner);
  throw new UsageError(`the state dir ${stateDir} belongs to ${name ?? `uid ${owner}`}, not to the user running drctl (uid ${uid}): run it as that user (sudo -u ${name ?? `#${owner}`} drctl ...), or pass --allow-root to go ahead anyway`);
}
function userName(uid) {
  try {
    return readFileSync("/etc/passwd", "utf8").split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))?.[0];
  } catch {
    return void 0;
  }
}

export {
  assertStateDirOwner
};
