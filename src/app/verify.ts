import { copyVersions, parseManifest } from "../catalog/catalog.js";
import { describeError, UsageError } from "../errors.js";
import { backupView } from "./list.js";
import { checkCopy } from "./check-copy.js";
import { readTargetManifests } from "./manifests.js";
import { chainProblems } from "./heads.js";
import { alertMessage } from "../alerts/message.js";
import { notify } from "./notify.js";
import { audit } from "./audit.js";
import { assertTarget, jobOf, type AppContext } from "./context.js";
import { missingSegments, parseSegmentName, segmentsBetween } from "../policy/wal.js";
import { oldestBaseStart } from "./base-start.js";
import { walPrefix } from "../wal/layout.js";

export interface CopyVerification {
  backup_id: string;
  target: string;
  ok: boolean;
  /**
   * untrusted: a backup on the target whose manifest no trusted key signed for where it lies
   * (planted, moved or replayed); invalid: one whose manifest cannot be read or used at all;
   * chain_broken: the job's backups there and its signed head disagree (a backup deleted
   * from the middle, the newest gone, an older head replayed); its backup_id is `<job>/head`.
   * A cluster job's WAL file missing from the chain is `<job>/wal/<segment>`, missing.
   */
  state: "verified" | "corrupt" | "missing" | "unreachable" | "untrusted" | "invalid" | "chain_broken";
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
  if (request.target) assertTarget(ctx, request.target);
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
        if (copy.state !== result.state) {
          ctx.catalog.addEvent({ at: now, kind: `copy_${result.state}`, job: backup.job, backup_id: backup.id, target: copy.target, detail: result.problem ?? undefined });
          audit(ctx, { event: "verify_failed", outcome: "failed", job: backup.job, backup_id: backup.id, target: copy.target, detail: { state: result.state, problem: result.problem } });
          notify(ctx, alertMessage("verify_failed", backup.job, `the copy of ${backup.id} on ${copy.target} is ${result.state}: ${result.problem}`, { backup_id: backup.id, target: copy.target, state: result.state, problem: result.problem }, now));
        }
      }
      results.push(result);
    }
    const after = ctx.catalog.getBackup(backup.id);
    if (policyBefore && after && !backupView(ctx.config, after).policy_ok) {
      ctx.catalog.addEvent({ at: ctx.now(), kind: "policy_lost", job: backup.job, backup_id: backup.id, detail: backupView(ctx.config, after).policy.missing.join(", ") });
    }
  }
  if (!request.backupId) results.push(...(await untrustedOnTargets(ctx, request)), ...(await walGaps(ctx, request)));
  return results;
}

/**
 * With signing in use, every manifest on the verified targets is checked as a bare machine
 * would: one that no trusted key signed for the place it lies was put there by someone else
 * (a forged backup, or a genuine one moved to another job or id).
 */
async function untrustedOnTargets(ctx: AppContext, request: VerifyRequest): Promise<CopyVerification[]> {
  if (!ctx.config.signing && !ctx.config.trust) return [];
  const jobs = request.job ? [request.job] : Object.keys(ctx.config.jobs);
  const targets = [...new Set(jobs.flatMap((j) => ctx.config.jobs[j]!.targets))].filter((t) => !request.target || t === request.target);
  const out: CopyVerification[] = [];
  for (const target of targets) {
    for (const job of jobs.filter((j) => ctx.config.jobs[j]!.targets.includes(target))) {
      let found;
      try {
        found = await readTargetManifests(ctx, target, job);
      } catch (err) {
        out.push({ backup_id: `${job}/*`, target, ok: false, state: "unreachable", problem: describeError(err) });
        continue;
      }
      const chain = await chainProblems(ctx, ctx.targets.get(target), job, found.records, [...found.invalid, ...found.hidden]).catch((err: unknown) => [`the signed head of ${job} on ${target} cannot be read: ${describeError(err)}`]);
      const refused = [
        ...found.records.flatMap((r) => (r.trust.trusted ? [] : [{ job: r.manifest.job, id: r.manifest.id, state: "untrusted" as const, problem: r.trust.reason }])),
        ...found.invalid.map((i) => ({ job: i.job, id: i.id, state: "invalid" as const, problem: i.reason })),
        ...found.hidden.map((h) => ({ job: h.job, id: h.id, state: "missing" as const, problem: h.reason })),
        ...chain.map((problem) => ({ job, id: `${job}/head`, state: "chain_broken" as const, problem })),
      ];
      for (const r of refused) out.push(refusal(ctx, target, r));
    }
  }
  return out;
}

function refusal(ctx: AppContext, target: string, r: { job: string; id: string; state: CopyVerification["state"]; problem: string }): CopyVerification {
  ctx.catalog.addEvent({ at: ctx.now(), kind: `copy_${r.state}`, job: r.job, backup_id: r.id, target, detail: r.problem });
  audit(ctx, { event: "verify_failed", outcome: "failed", job: r.job, backup_id: r.id, target, detail: { state: r.state, problem: r.problem } });
  notify(ctx, alertMessage("verify_failed", r.job, `backup ${r.id} on ${target} is ${r.state}: ${r.problem}`, { backup_id: r.id, target, state: r.state, problem: r.problem }, ctx.now()));
  return { backup_id: r.id, target, ok: false, state: r.state, problem: r.problem };
}

/**
 * A cluster job's WAL on each target, from where its oldest base backup there begins to the
 * newest file: each file missing in between is a gap where every restore from an older base
 * backup stops (reported as `<job>/wal/<segment>`, missing). Checks that each file's record
 * is there; the records' own checks run at restore.
 */
async function walGaps(ctx: AppContext, request: VerifyRequest): Promise<CopyVerification[]> {
  const out: CopyVerification[] = [];
  for (const [job, config] of Object.entries(ctx.config.jobs)) {
    if (config.type !== "postgres_cluster" || (request.job && request.job !== job)) continue;
    for (const target of config.targets.filter((t) => !request.target || t === request.target)) {
      const bases = ctx.catalog.listBackups({ job }).filter((b) => b.copies.some((c) => c.target === target && c.state !== "deleted" && c.state !== "pending"));
      const oldest = oldestBaseStart(bases);
      if (!oldest) continue;
      let names: string[];
      try {
        names = (await ctx.targets.get(target).list(walPrefix(job))).map((o) => o.key.slice(walPrefix(job).length));
      } catch (err) {
        out.push({ backup_id: `${job}/wal`, target, ok: false, state: "unreachable", problem: describeError(err) });
        continue;
      }
      const archived = new Set(names.filter((n) => /^[0-9A-F]{24}\.json$/.test(n)).map((n) => n.slice(0, 24)));
      const size = oldest.segmentSize;
      const numbers = [...archived].flatMap((n) => {
        const s = parseSegmentName(n, size);
        return s?.timeline === oldest.timeline ? [s.number] : [];
      });
      if (numbers.length === 0) continue;
      const newest = numbers.reduce((a, b) => (b > a ? b : a));
      const needed = segmentsBetween(oldest.timeline, oldest.segment * BigInt(size), (newest + 1n) * BigInt(size), size);
      for (const name of missingSegments(needed, archived))
        out.push(refusal(ctx, target, { job, id: `${job}/wal/${name}`, state: "missing", problem: `WAL file ${name} is not on ${target}: a restore from a base backup that began before it stops there` }));
    }
  }
  return out;
}

function notFound(id: string): never {
  throw new UsageError(`no backup with id "${id}" in the catalog`);
}
