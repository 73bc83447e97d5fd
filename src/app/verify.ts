import { copyVersions, parseManifest } from "../catalog/catalog.js";
import { describeError, UsageError } from "../errors.js";
import { backupView } from "./list.js";
import { checkCopy } from "./check-copy.js";
import { jobOf, type AppContext } from "./context.js";

export interface CopyVerification {
  backup_id: string;
  target: string;
  ok: boolean;
  state: "verified" | "corrupt" | "missing" | "unreachable";
  problem: string | null;
}

export interface VerifyRequest {
  backupId?: string;
  job?: string;
  target?: string;
}

/**
 * Re-reads copies and checks them against the recorded sha256. A mismatch marks the copy
 * corrupt (a vanished one missing) and records an event; a copy that cannot be reached
 * right now keeps its state.
 */
export async function verifyBackups(ctx: AppContext, request: VerifyRequest): Promise<CopyVerification[]> {
  if (request.backupId && request.job) throw new UsageError("give a backup id or --job, not both");
  if (request.job) jobOf(ctx, request.job);
  if (request.target && !(request.target in ctx.config.targets)) throw new UsageError(`unknown target "${request.target}"`);
  const backups = request.backupId
    ? [ctx.catalog.getBackup(request.backupId) ?? notFound(request.backupId)]
    : ctx.catalog.listBackups(request.job ? { job: request.job } : {});

  const results: CopyVerification[] = [];
  for (const backup of backups) {
    const policyBefore = backupView(ctx.config, backup).policy_ok;
    const manifest = parseManifest(backup);
    for (const copy of backup.copies) {
      if (request.target && copy.target !== request.target) continue;
      if (copy.state === "pending" || copy.state === "deleted") continue;
      let result: CopyVerification;
      try {
        const check = await checkCopy(ctx.targets.get(copy.target), manifest, { sha256: backup.sha256, signature: backup.signature, versions: copyVersions(copy) });
        result = check.ok
          ? { backup_id: backup.id, target: copy.target, ok: true, state: "verified", problem: null }
          : { backup_id: backup.id, target: copy.target, ok: false, state: check.state, problem: check.problem };
      } catch (err) {
        results.push({ backup_id: backup.id, target: copy.target, ok: false, state: "unreachable", problem: describeError(err) });
        continue;
      }
      const now = ctx.now();
      if (result.ok) {
        ctx.catalog.updateCopy(backup.id, copy.target, { state: "verified", verified_at: now, error: null });
      } else {
        ctx.catalog.updateCopy(backup.id, copy.target, { state: result.state as "corrupt" | "missing", error: result.problem });
        if (copy.state !== result.state)
          ctx.catalog.addEvent({ at: now, kind: `copy_${result.state}`, job: backup.job, backup_id: backup.id, target: copy.target, detail: result.problem ?? undefined });
      }
      results.push(result);
    }
    const after = ctx.catalog.getBackup(backup.id);
    if (policyBefore && after && !backupView(ctx.config, after).policy_ok) {
      ctx.catalog.addEvent({ at: ctx.now(), kind: "policy_lost", job: backup.job, backup_id: backup.id, detail: backupView(ctx.config, after).policy.missing.join(", ") });
    }
  }
  return results;
}

function notFound(id: string): never {
  throw new UsageError(`no backup with id "${id}" in the catalog`);
}
