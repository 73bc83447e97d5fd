import { copyVersions, parseManifest } from "../../catalog/catalog.js";
import { describeError, IntegrityError, OperationError, UsageError } from "../../errors.js";
import type { Manifest } from "../../manifest.js";
import { jobOf, type AppContext } from "../context.js";
import { readHead } from "../heads.js";
import { human } from "../human.js";
import { backupView, listBackups, type BackupView } from "../list.js";
import { readTargetManifests, rowFromManifest } from "../manifests.js";
import { CopyDamaged, CopyUnreachable } from "./fetch.js";
import type { RestoreRequest } from "./restore.js";
import { chooseTrusted, selectCopy } from "./select.js";

/** The backup has no copy left that was not tried. */
export class NoCopyLeft extends OperationError {}

/** What the copy that failed was: the target the attempt read. */
export type CopyFailure = (CopyUnreachable | CopyDamaged) & { target?: string };

/** A copy's failure, marked with the target it came from, for the next attempt to leave aside. */
function copyFailed(failure: CopyUnreachable, target: string): CopyFailure {
  (failure as CopyFailure).target = target;
  return failure;
}

export interface Chosen {
  manifest: Manifest;
  from: string;
  warnings: string[];
  /** No trusted key vouches for it: restored by name with --allow-unsigned. */
  untrusted: boolean;
  versions: Record<string, string>;
}

/**
 * The backup and the target to read it from. With a catalog, its record (written by this
 * server) is the truth. Without one (a bare machine), the target's manifests are, and only
 * those signed by a trusted key for the place they lie are used without --allow-unsigned.
 */
export async function chooseBackup(ctx: AppContext, req: RestoreRequest, avoid: ReadonlySet<string>): Promise<Chosen> {
  const job = jobOf(ctx, req.job);
  const selection = { ...(req.backupId ? { backupId: req.backupId } : {}), ...(req.at !== undefined ? { at: req.at } : {}) };
  const known = listBackups(ctx, req.job);
  if (req.backupId && !known.some((b) => b.id === req.backupId)) {
    const elsewhere = ctx.catalog.getBackup(req.backupId);
    if (elsewhere && elsewhere.job !== req.job)
      throw new UsageError(`backup ${req.backupId} belongs to job ${elsewhere.job}, not ${req.job} (drctl restore ${elsewhere.job} --backup ${req.backupId})`);
  }
  const allowUnsigned = req.allowUnsigned ?? false;
  if (known.length > 0) {
    const choice = chooseTrusted(known, selection, allowUnsigned, "in the catalog");
    if ("refused" in choice) throw refusal(req.job, choice);
    const picked = choice.picked;
    const from = selectCopy(picked, req.from, (t) => ctx.config.targets[t]?.type === "local", avoid);
    if (!from) throw new (avoid.size > 0 ? NoCopyLeft : OperationError)(`backup ${picked.id} has no usable copy${req.from ? ` on ${req.from}` : ""}`);
    const backup = ctx.catalog.getBackup(picked.id)!;
    const warnings = picked.state === "untrusted" ? [untrustedWarning(picked, "in the catalog")] : [];
    return { manifest: parseManifest(backup), from, warnings, untrusted: picked.state === "untrusted", versions: copyVersions(backup.copies.find((c) => c.target === from)) };
  }
  const from = req.from ?? bareSource(ctx, job.targets.filter((t) => !avoid.has(t)));
  const { records, invalid } = await readTargetManifests(ctx, from, req.job).catch((err: unknown) => {
    throw copyFailed(new CopyUnreachable(`cannot list the backups on ${from}: ${describeError(err)}`, { cause: err }), from);
  });
  if (records.length === 0 && req.from === undefined) throw copyFailed(new CopyUnreachable(`${from} holds no backup of ${req.job}`), from);
  const named = req.backupId ? invalid.find((i) => i.id === req.backupId) : undefined;
  if (named) throw new IntegrityError(`backup ${req.job}/${named.id} on ${from} is invalid: ${named.reason}; restore refused`);
  const views: BackupView[] = records.map((r) => {
    const view = backupView(ctx.config, rowFromManifest(ctx, from, r));
    return r.trust.trusted ? view : { ...view, state: "untrusted" as const, untrusted_reason: r.trust.reason };
  });
  const choice = chooseTrusted(views, selection, allowUnsigned, `on ${from}`);
  if ("refused" in choice) throw refusal(`${req.job} from ${from}`, choice);
  const picked = choice.picked;
  const record = records.find((r) => r.manifest.id === picked.id)!;
  const warnings = picked.state === "untrusted" ? [untrustedWarning(picked, `on ${from}`)] : [];
  // "The newest" on a bare machine is only what the storage still holds: say when that is old, or not what the head names.
  if (!req.backupId && req.at === undefined) warnings.push(...(await staleness(ctx, from, req.job, picked)));
  return { manifest: record.manifest, from, warnings, untrusted: picked.state === "untrusted", versions: {} };
}

/** What makes the newest backup on a target doubtful: older than the job's RPO, or not the newest its signed head names. */
async function staleness(ctx: AppContext, from: string, jobName: string, picked: BackupView): Promise<string[]> {
  const out: string[] = [];
  const ageMs = ctx.now() - Date.parse(picked.snapshot_at);
  const rpo = ctx.config.jobs[jobName]!.rpo;
  if (ageMs > rpo * 1000) out.push(`the newest trusted backup of ${jobName} on ${from}, ${picked.id}, is ${human(ageMs)} old, older than the job's RPO (${human(rpo * 1000)})`);
  const head = await readHead(ctx, ctx.targets.get(from), jobName).catch(() => undefined);
  if (head?.state === "trusted" && head.head.newest && head.head.newest !== picked.id)
    out.push(`the signed head of ${jobName} on ${from} (sequence ${head.head.sequence}, written ${head.head.written_at}) names ${head.head.newest} as the newest backup, which is not among the trusted backups there: it was deleted or damaged, and ${picked.id} is restored instead`);
  return out;
}

/** A refused choice: untrusted is an integrity refusal (exit 3); nothing to restore is an operation failure. */
function refusal(what: string, choice: { refused: string; untrusted: boolean }): Error {
  return choice.untrusted ? new IntegrityError(choice.refused) : new OperationError(`cannot restore ${what}: ${choice.refused}`);
}

function untrustedWarning(b: BackupView, where: string): string {
  return `backup ${b.job}/${b.id} ${where} is untrusted (${b.untrusted_reason ?? "no trusted key signed it"}); restored because --allow-unsigned was given`;
}

/** Without --from on a bare machine: the job's first local target, else its first target. */
function bareSource(ctx: AppContext, targets: string[]): string {
  return targets.find((t) => ctx.config.targets[t]?.type === "local") ?? targets[0]!;
}

