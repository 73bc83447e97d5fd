import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  checkCopy
} from "./chunk-TGE2FK6Q.js";
import {
  notify,
  retryDelayMs
} from "./chunk-GGBHMAI3.js";
import {
  alertMessage
} from "./chunk-6OGFF74X.js";
import {
  copyVersions,
  parseManifest
} from "./chunk-KAQ4J7ZM.js";
import {
  MANIFEST_NAME,
  SIGNATURE_NAME,
  backupPrefix
} from "./chunk-GBAX6DVE.js";
import {
  describeError
} from "./chunk-RSPIC3EP.js";

// dist/app/replicate.js
import { Readable } from "node:stream";
var COPY_ALERT_ATTEMPTS = 3;
var inFlight = /* @__PURE__ */ new Set();
async function replicatePending(ctx, filter = {}) {
  const due = ctx.catalog.pendingCopies({
    ...filter.job ? { job: filter.job } : {},
    ...filter.backupId ? { backupId: filter.backupId } : {},
    ...filter.force ? {} : { now: ctx.now() }
  });
  const results = [];
  for (const copy of due) {
    const key = `${copy.backup_id}\0${copy.target}`;
    if (inFlight.has(key))
      continue;
    inFlight.add(key);
    try {
      results.push(await replicateOne(ctx, ctx.catalog.getBackup(copy.backup_id), copy));
    } finally {
      inFlight.delete(key);
    }
  }
  return results;
}
async function commitCopy(ctx, backup, targetName, to, artifacts) {
  const prefix = backupPrefix(backup.job, backup.id);
  const versions = { ...artifacts.versions };
  if (backup.signature) {
    const sig = await to.put(prefix + SIGNATURE_NAME, Readable.from([Buffer.from(backup.signature)]));
    if (sig.version)
      versions[SIGNATURE_NAME] = sig.version;
  }
  const put = await to.put(prefix + MANIFEST_NAME, Readable.from([Buffer.from(backup.manifest)]));
  if (put.version)
    versions[MANIFEST_NAME] = put.version;
  const writtenAt = ctx.now();
  if (!(artifacts.storeVerified && put.storeVerified && put.sha256 === backup.sha256)) {
    const check = await checkCopy(to, parseManifest(backup), { sha256: backup.sha256, signature: backup.signature, versions });
    if (!check.ok)
      throw new Error(`re-read failed: ${check.problem}`);
  }
  ctx.catalog.updateCopy(backup.id, targetName, {
    versions: Object.keys(versions).length > 0 ? JSON.stringify(versions) : null,
    state: "verified",
    location: to.locate(prefix),
    written_at: writtenAt,
    verified_at: ctx.now(),
    error: null,
    next_attempt_at: null
  });
  ctx.catalog.makePendingDue(targetName);
}
function unsourced(ctx, backup, copy) {
  const others = backup.copies.filter((c) => c.target !== copy.target).map((c) => `${c.target} ${c.state}`);
  const error = `no verified copy to copy from (${others.join(", ") || "no other copy"}); a new backup replaces it`;
  const attempts = copy.attempts + 1;
  ctx.catalog.updateCopy(backup.id, copy.target, { error, attempts, next_attempt_at: ctx.now() + retryDelayMs(attempts) });
  if (copy.error !== error)
    ctx.catalog.addEvent({ at: ctx.now(), kind: "copy_unsourced", job: backup.job, backup_id: backup.id, target: copy.target, detail: error });
  return { backup_id: backup.id, target: copy.target, state: "no_source", error };
}
async function replicateOne(ctx, backup, copy) {
  const manifest = parseManifest(backup);
  const prefix = backupPrefix(backup.job, backup.id);
  const sources = backup.copies.filter((c) => c.state === "verified" && c.target !== copy.target).sort((a, b) => Number(ctx.config.targets[b.target]?.type === "local") - Number(ctx.config.targets[a.target]?.type === "local"));
  if (sources.length === 0)
    return unsourced(ctx, backup, copy);
  try {
    const from = ctx.targets.get(sources[0].target);
    const to = ctx.targets.get(copy.target);
    const sourceVersions = copyVersions(sources[0]);
    const written = { storeVerified: true, versions: {} };
    for (const artifact of manifest.artifacts) {
      const put = await to.put(prefix + artifact.name, await from.get(prefix + artifact.name, sourceVersions[artifact.name]), { expectedSize: artifact.size });
      if (put.sha256 !== artifact.sha256)
        throw new Error(`${artifact.name} changed in transit: sha256 ${put.sha256}, expected ${artifact.sha256}`);
      written.storeVerified &&= put.storeVerified === true;
      if (put.version)
        written.versions[artifact.name] = put.version;
    }
    await commitCopy(ctx, backup, copy.target, to, written);
    return { backup_id: backup.id, target: copy.target, state: "verified", error: null };
  } catch (err) {
    const attempts = copy.attempts + 1;
    const error = describeError(err);
    ctx.catalog.updateCopy(backup.id, copy.target, { error, attempts, next_attempt_at: ctx.now() + retryDelayMs(attempts) });
    ctx.catalog.addEvent({ at: ctx.now(), kind: "copy_failed", job: backup.job, backup_id: backup.id, target: copy.target, detail: error });
    if (attempts === COPY_ALERT_ATTEMPTS)
      notify(ctx, alertMessage("copy_failed", backup.job, `the copy of ${backup.id} to ${copy.target} is still pending after ${attempts} attempts: ${error}`, { backup_id: backup.id, target: copy.target, attempts, error }, ctx.now()));
    return { backup_id: backup.id, target: copy.target, state: "pending", error };
  }
}

export {
  COPY_ALERT_ATTEMPTS,
  replicatePending,
  commitCopy
};
