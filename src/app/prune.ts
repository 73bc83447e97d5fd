import type { Config } from "../config/schema.js";
import { describeError } from "../errors.js";
import { pitrWindowKeeps, planRetention, type RetentionDecision } from "../policy/retention.js";
import { configDuration } from "../config/duration.js";
import { audit } from "./audit.js";
import { writeHeads } from "./heads.js";
import { policyVerdict } from "../policy/three-two-one.js";
import { backupPrefix, MANIFEST_NAME, SIGNATURE_NAME } from "../targets/target.js";
import { assertRoleAllows, clockOf, jobOf, type AppContext } from "./context.js";
import { parseManifest } from "../catalog/catalog.js";
import { prunableWal, segmentName } from "../policy/wal.js";
import { oldestBaseStart } from "./base-start.js";
import { walPrefix } from "../wal/layout.js";

export interface PruneAction {
  target: string;
  job: string;
  backup_id: string;
  snapshot_at: string;
  action: "keep" | "remove" | "skip";
  reasons: string[];
}

/** A cluster job's WAL on a target: the files before what its oldest kept base backup needs. */
export interface WalPruneAction {
  target: string;
  job: string;
  /** The first segment kept: where the oldest base backup kept on the target begins. */
  kept_from: string;
  /** Stored objects removed (or, with dry_run, that would be): files, records and signatures. */
  removed: number;
}

export interface PruneReport {
  dry_run: boolean;
  actions: PruneAction[];
  wal: WalPruneAction[];
  kept: number;
  removed: number;
  skipped: number;
  errors: string[];
}

/** Backups deleted per step: one batch of object deletes, then one short catalog transaction. */
export const PRUNE_CHUNK = 500;

/**
 * Applies each target's retention to each job's backups on that target. A target without
 * retention keeps everything. Objects still under S3 Object Lock are skipped and reported.
 */
export async function prune(ctx: AppContext, options: { dryRun?: boolean; job?: string; signal?: AbortSignal } = {}): Promise<PruneReport> {
  if (options.job) jobOf(ctx, options.job);
  assertRoleAllows(ctx, "prune");
  const report: PruneReport = { dry_run: options.dryRun ?? false, actions: [], wal: [], kept: 0, removed: 0, skipped: 0, errors: [] };
  const now = ctx.now();
  for (const [targetName, target] of Object.entries(ctx.config.targets)) {
    if (!target.retention) continue;
    for (const [jobName, job] of Object.entries(ctx.config.jobs)) {
      if (options.job && jobName !== options.job) continue;
      if (!job.targets.includes(targetName)) continue;
      const backups = ctx.catalog.retentionView(jobName).filter((b) => b.copies.some((c) => c.target === targetName && c.state !== "deleted"));
      const plan = planRetention(
        backups.map((b) => ({ id: b.id, snapshotAt: b.snapshot_at, good: policyVerdict(ctx.config, b.copies).ok })),
        target.retention,
        ctx.config.timezone,
        clockOf(ctx),
      );
      if (job.type === "postgres_cluster" && job.pitr_window !== undefined) keepForWindow(ctx, plan, job.pitr_window, now);
      const copiesById = new Map(backups.map((b) => [b.id, b.copies]));
      const toRemove: string[] = [];
      for (const decision of plan) {
        const action: PruneAction = {
          target: targetName,
          job: jobName,
          backup_id: decision.id,
          snapshot_at: new Date(decision.snapshotAt).toISOString(),
          action: decision.keep ? "keep" : "remove",
          reasons: decision.reasons,
        };
        const lockedUntil = lockedUntilOf(ctx.config, targetName, copiesById.get(decision.id), now);
        if (!decision.keep && lockedUntil !== undefined) {
          action.action = "skip";
          action.reasons = [...decision.reasons, `under Object Lock until ${new Date(lockedUntil).toISOString()}`];
        }
        report.actions.push(action);
        if (action.action === "remove") toRemove.push(decision.id);
      }
      // Retention leaves out what no trusted key signed: it neither anchors the plan nor is removed by it.
      for (const id of ctx.catalog.untrustedBackups(jobName)) {
        const b = ctx.catalog.getBackup(id);
        if (!b?.copies.some((c) => c.target === targetName && c.state !== "deleted")) continue;
        report.actions.push({ target: targetName, job: jobName, backup_id: id, snapshot_at: new Date(b.snapshot_at).toISOString(), action: "skip", reasons: [`untrusted (${b.untrusted}): admitted with --allow-unsigned; retention neither counts nor removes it`] });
      }
      const errorsBefore = report.errors.length;
      if (!options.dryRun) {
        const why = new Map(report.actions.filter((a) => a.target === targetName && a.action === "remove").map((a) => [a.backup_id, a.reasons.join("; ")]));
        await removeInChunks(ctx, targetName, jobName, toRemove, why, report, options.signal);
        // The head excuses what this prune removed: the chain's gaps there are drd's own.
        if (toRemove.length > 0) await writeHeads(ctx, jobName, [targetName]);
      }
      // WAL only after the base backups went as planned: one left behind may still need it.
      if (job.type === "postgres_cluster" && report.errors.length === errorsBefore && !options.signal?.aborted) {
        const kept = backups.map((b) => b.id).filter((id) => !toRemove.includes(id));
        const wal = await pruneWal(ctx, targetName, jobName, kept, options.dryRun ?? false).catch((err: unknown) => void report.errors.push(`WAL of ${jobName} on ${targetName}: ${describeError(err)}`));
        if (wal) report.wal.push(wal);
      }
    }
  }
  report.kept = report.actions.filter((a) => a.action === "keep").length;
  report.skipped = report.actions.filter((a) => a.action === "skip").length;
  if (options.dryRun) report.removed = report.actions.filter((a) => a.action === "remove").length;
  return report;
}

/** A cluster job's PITR window overrides the rules: the base backups it needs stay. */
function keepForWindow(ctx: AppContext, plan: RetentionDecision[], windowSeconds: number, now: number): void {
  const bases = plan.flatMap((d) => {
    const row = ctx.catalog.getBackup(d.id);
    const m = row ? parseManifest(row) : undefined;
    return m ? [{ id: d.id, consistentAt: Date.parse(m.finished_at) }] : [];
  });
  const keeps = pitrWindowKeeps(bases, windowSeconds * 1000, now, configDuration(windowSeconds));
  for (const d of plan) {
    const why = keeps.get(d.id);
    if (!why || d.keep) continue;
    d.keep = true;
    d.reasons = [why];
  }
}

/**
 * Removes a cluster job's WAL on a target from before the oldest base backup the target
 * keeps: no restore from there can use it. Nothing when the target keeps no base backup.
 */
async function pruneWal(ctx: AppContext, targetName: string, jobName: string, keptIds: string[], dryRun: boolean): Promise<WalPruneAction | undefined> {
  const oldest = oldestBaseStart(keptIds.flatMap((id) => ctx.catalog.getBackup(id) ?? []));
  if (!oldest) return undefined;
  const target = ctx.targets.get(targetName);
  const prefix = walPrefix(jobName);
  const names = (await target.list(prefix)).map((o) => o.key.slice(prefix.length));
  const doomed = prunableWal(names, oldest.segment, oldest.segmentSize);
  const action: WalPruneAction = { target: targetName, job: jobName, kept_from: segmentName({ timeline: oldest.timeline, number: oldest.segment }, oldest.segmentSize), removed: doomed.length };
  if (dryRun || doomed.length === 0) return action;
  const records = doomed.filter((n) => n.endsWith(".json"));
  await target.delete(records.map((n) => prefix + n));
  await target.delete(doomed.filter((n) => !n.endsWith(".json")).map((n) => prefix + n));
  ctx.catalog.forgetWalSegments(jobName, targetName, [...new Set(doomed.map((n) => n.slice(0, 24)))]);
  audit(ctx, { event: "prune_delete", outcome: "ok", target: targetName, detail: { job: jobName, wal_objects: doomed.length, kept_from: action.kept_from } });
  ctx.catalog.addEvent({ at: ctx.now(), kind: "pruned", job: jobName, target: targetName, detail: `${doomed.length} WAL object(s) before ${action.kept_from}` });
  return action;
}

function lockedUntilOf(config: Config, target: string, copies: { target: string; written_at: number | null }[] | undefined, now: number): number | undefined {
  const t = config.targets[target];
  if (t?.type !== "s3" || !t.object_lock) return undefined;
  const writtenAt = copies?.find((c) => c.target === target)?.written_at;
  if (writtenAt === null || writtenAt === undefined) return undefined;
  const until = writtenAt + t.object_lock.days * 86_400_000;
  return until > now ? until : undefined;
}

/** Removes `ids`, backups of `jobName`, from the target; each removal is an event with its reasons (`why`), what the report's retention section lists. */
async function removeInChunks(ctx: AppContext, targetName: string, jobName: string, ids: string[], why: Map<string, string>, report: PruneReport, signal: AbortSignal | undefined): Promise<void> {
  const target = ctx.targets.get(targetName);
  // Stopped (shutdown): between chunks, so each chunk's deletes and its catalog update go together.
  for (let i = 0; i < ids.length && !signal?.aborted; i += PRUNE_CHUNK) {
    const chunk = ids.slice(i, i + PRUNE_CHUNK);
    const names = ctx.catalog.artifactNames(chunk);
    const prefixes = chunk.flatMap((id) => (names.has(id) ? [{ prefix: backupPrefix(names.get(id)!.job, id), names: names.get(id)!.names }] : []));
    // Manifests first: a deletion cut short leaves objects that no longer look like a backup.
    const keys = [...prefixes.flatMap((p) => [p.prefix + MANIFEST_NAME, p.prefix + SIGNATURE_NAME]), ...prefixes.flatMap((p) => p.names.map((n) => p.prefix + n))];
    try {
      await target.delete(keys);
    } catch (err) {
      report.errors.push(describeError(err));
      continue;
    }
    ctx.catalog.markCopiesDeleted(targetName, chunk);
    audit(ctx, { event: "prune_delete", outcome: "ok", target: targetName, detail: { backup_ids: chunk } });
    for (const id of chunk) ctx.catalog.addEvent({ at: ctx.now(), kind: "pruned", job: jobName, backup_id: id, target: targetName, detail: why.get(id) ?? "" });
    report.removed += chunk.length;
  }
}
