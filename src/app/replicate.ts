import type { BackupWithCopies, CopyRow } from "../catalog/catalog.js";
import { copyVersions, parseManifest } from "../catalog/catalog.js";
import { writeHeads } from "./heads.js";
import { describeError } from "../errors.js";
import { retryDelayMs } from "../policy/backoff.js";
import { alertMessage } from "../alerts/message.js";
import { notify } from "./notify.js";
import { Readable } from "node:stream";
import { backupPrefix, MANIFEST_NAME, SIGNATURE_NAME, type Target } from "../targets/target.js";
import { checkCopy } from "./check-copy.js";
import { assertRoleAllows, type AppContext } from "./context.js";

export interface ReplicationResult {
  backup_id: string;
  target: string;
  /** verified: written now; pending: failed, retried later; no_source: no verified copy left to copy from. */
  state: "verified" | "pending" | "no_source";
  error: string | null;
}

/** Failed attempts of a copy after which someone is told. */
export const COPY_ALERT_ATTEMPTS = 3;

/** Copies being written by this process, so the daemon's timer and a backup never write the same one twice at once. */
const inFlight = new Set<string>();
const copyKey = (backupId: string, target: string) => `${backupId}\u0000${target}`;

/** A backup's own upload still writes this copy: replication leaves it alone until released. */
export function holdCopy(backupId: string, target: string): void {
  inFlight.add(copyKey(backupId, target));
}

export function releaseCopy(backupId: string, target: string): void {
  inFlight.delete(copyKey(backupId, target));
}

/**
 * Writes pending copies from a verified copy (a local one first: fastest, and what an
 * offsite outage never touches). A copy becomes verified only after its bytes are
 * re-read against the recorded sha256; a failure leaves it pending with the error and
 * the time of the next attempt (exponential backoff). `force` ignores the backoff.
 */
export async function replicatePending(
  ctx: AppContext,
  filter: { job?: string; backupId?: string; force?: boolean; signal?: AbortSignal } = {},
): Promise<ReplicationResult[]> {
  assertRoleAllows(ctx, "replicate");
  const due = ctx.catalog.pendingCopies({
    ...(filter.job ? { job: filter.job } : {}),
    ...(filter.backupId ? { backupId: filter.backupId } : {}),
    ...(filter.force ? {} : { now: ctx.now() }),
  });
  const results: ReplicationResult[] = [];
  for (const copy of due) {
    // Stopped (shutdown): what is left stays pending, due as it was.
    if (filter.signal?.aborted) break;
    const key = copyKey(copy.backup_id, copy.target);
    if (inFlight.has(key)) continue;
    inFlight.add(key);
    try {
      results.push(await replicateOne(ctx, ctx.catalog.getBackup(copy.backup_id)!, copy, filter.signal));
    } finally {
      inFlight.delete(key);
    }
  }
  // A target that took a copy has a new newest: its heads say so.
  const copied = new Map<string, Set<string>>();
  for (const r of results) {
    if (r.state !== "verified") continue;
    const job = ctx.catalog.getBackup(r.backup_id)?.job;
    if (job) copied.set(job, (copied.get(job) ?? new Set()).add(r.target));
  }
  for (const [job, targets] of copied) await writeHeads(ctx, job, [...targets]);
  return results;
}

/**
 * Completes a copy whose artifacts are all on `to`: writes the manifest last (on every
 * target, a backup exists only once it is complete), then marks the copy verified: by the
 * store's own checksum of every object when those all matched ours, else by re-reading.
 */
export interface WrittenArtifacts {
  /** The store's own checksums matched ours for every artifact. */
  storeVerified: boolean;
  /** The version the store gave each artifact, by name (versioned buckets). */
  versions: Record<string, string>;
}

export async function commitCopy(ctx: AppContext, backup: BackupWithCopies, targetName: string, to: Target, artifacts: WrittenArtifacts, signal?: AbortSignal): Promise<void> {
  const prefix = backupPrefix(backup.job, backup.id);
  const versions = { ...artifacts.versions };
  const stop = signal ? { signal } : {};
  if (backup.signature) {
    const sig = await to.put(prefix + SIGNATURE_NAME, Readable.from([Buffer.from(backup.signature)]), stop);
    if (sig.version) versions[SIGNATURE_NAME] = sig.version;
  }
  const put = await to.put(prefix + MANIFEST_NAME, Readable.from([Buffer.from(backup.manifest)]), stop);
  if (put.version) versions[MANIFEST_NAME] = put.version;
  const writtenAt = ctx.now();
  if (!(artifacts.storeVerified && put.storeVerified && put.sha256 === backup.sha256)) {
    const check = await checkCopy(to, parseManifest(backup), { sha256: backup.sha256, signature: backup.signature, versions });
    if (!check.ok) throw new Error(`re-read failed: ${check.problem}`);
  }
  ctx.catalog.updateCopy(backup.id, targetName, {
    versions: Object.keys(versions).length > 0 ? JSON.stringify(versions) : null,
    state: "verified",
    location: to.locate(prefix),
    written_at: writtenAt,
    verified_at: ctx.now(),
    error: null,
    next_attempt_at: null,
  });
  // The target is back: what waits for it need not sit out its backoff.
  ctx.catalog.makePendingDue(targetName);
}

/**
 * A copy with nothing to copy from (every other copy corrupt, missing or itself pending):
 * no retry can write it, so it is not a failure of this run. It is recorded on the copy and
 * as an event once, and looked at again after the usual backoff (a verify may find a source
 * good again).
 */
function unsourced(ctx: AppContext, backup: BackupWithCopies, copy: CopyRow): ReplicationResult {
  const others = backup.copies.filter((c) => c.target !== copy.target).map((c) => `${c.target} ${c.state}`);
  const error = `no verified copy to copy from (${others.join(", ") || "no other copy"}); a new backup replaces it`;
  const attempts = copy.attempts + 1;
  ctx.catalog.updateCopy(backup.id, copy.target, { error, attempts, next_attempt_at: ctx.now() + retryDelayMs(attempts) });
  if (copy.error !== error) ctx.catalog.addEvent({ at: ctx.now(), kind: "copy_unsourced", job: backup.job, backup_id: backup.id, target: copy.target, detail: error });
  return { backup_id: backup.id, target: copy.target, state: "no_source", error };
}

async function replicateOne(ctx: AppContext, backup: BackupWithCopies, copy: CopyRow, signal: AbortSignal | undefined): Promise<ReplicationResult> {
  const manifest = parseManifest(backup);
  const prefix = backupPrefix(backup.job, backup.id);
  const sources = backup.copies
    .filter((c) => c.state === "verified" && c.target !== copy.target)
    .sort((a, b) => Number(ctx.config.targets[b.target]?.type === "local") - Number(ctx.config.targets[a.target]?.type === "local"));
  if (sources.length === 0) return unsourced(ctx, backup, copy);
  try {
    const from = ctx.targets.get(sources[0]!.target);
    const to = ctx.targets.get(copy.target);
    const sourceVersions = copyVersions(sources[0]);
    const written: WrittenArtifacts = { storeVerified: true, versions: {} };
    for (const artifact of manifest.artifacts) {
      const put = await to.put(prefix + artifact.name, await from.get(prefix + artifact.name, sourceVersions[artifact.name]), { expectedSize: artifact.size, ...(signal ? { signal } : {}) });
      if (put.sha256 !== artifact.sha256) throw new Error(`${artifact.name} changed in transit: sha256 ${put.sha256}, expected ${artifact.sha256}`);
      written.storeVerified &&= put.storeVerified === true;
      if (put.version) written.versions[artifact.name] = put.version;
    }
    await commitCopy(ctx, backup, copy.target, to, written, signal);
    return { backup_id: backup.id, target: copy.target, state: "verified", error: null };
  } catch (err) {
    const attempts = copy.attempts + 1;
    const error = describeError(err);
    ctx.catalog.updateCopy(backup.id, copy.target, { error, attempts, next_attempt_at: ctx.now() + retryDelayMs(attempts) });
    ctx.catalog.addEvent({ at: ctx.now(), kind: "copy_failed", job: backup.job, backup_id: backup.id, target: copy.target, detail: error });
    // Worth a human once the retries have not helped; once per copy.
    if (attempts === COPY_ALERT_ATTEMPTS)
      notify(ctx, alertMessage("copy_failed", backup.job, `the copy of ${backup.id} to ${copy.target} is still pending after ${attempts} attempts: ${error}`, { backup_id: backup.id, target: copy.target, attempts, error }, ctx.now()));
    return { backup_id: backup.id, target: copy.target, state: "pending", error };
  }
}
