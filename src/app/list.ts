import type { BackupWithCopies } from "../catalog/catalog.js";
import type { Config } from "../config/schema.js";
import { policyVerdict, type PolicyVerdict } from "../policy/three-two-one.js";
import type { AppContext } from "./context.js";
import { readTargetManifests, rowFromManifest, type InvalidManifest } from "./manifests.js";
import { chainProblems } from "./heads.js";

export interface CopyView {
  target: string;
  state: string;
  location: string;
  written_at: string | null;
  verified_at: string | null;
  error: string | null;
  /** When a pending copy is tried again (null: not pending, or due now). */
  next_attempt_at: string | null;
}

export interface BackupView {
  id: string;
  job: string;
  kind: string;
  snapshot_at: string;
  finished_at: string;
  size: number;
  sha256: string;
  /**
   * complete; untrusted: its manifest is not signed by a trusted key for where it lies (read
   * from a target, or admitted to the catalog with --allow-unsigned): never "newest", never
   * counted for the RPO or by retention.
   */
  state: "complete" | "untrusted";
  /** Why it is untrusted, when it is. */
  untrusted_reason?: string;
  encrypted: boolean;
  policy_ok: boolean;
  policy: PolicyVerdict;
  copies: CopyView[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The 3-2-1 verdict on a backup's copies, with each target's media and offsite flag from the config. */
export function backupView(config: Config, b: BackupWithCopies): BackupView {
  const policy = policyVerdict(config, b.copies);
  return {
    id: b.id,
    job: b.job,
    kind: b.kind,
    snapshot_at: iso(b.snapshot_at)!,
    finished_at: iso(b.finished_at)!,
    size: b.size,
    sha256: b.sha256,
    state: b.untrusted ? "untrusted" : "complete",
    ...(b.untrusted ? { untrusted_reason: b.untrusted } : {}),
    encrypted: b.encryption !== null,
    policy_ok: policy.ok,
    policy,
    copies: b.copies.map((c) => ({
      target: c.target,
      state: c.state,
      location: c.location,
      written_at: iso(c.written_at),
      verified_at: iso(c.verified_at),
      error: c.error,
      next_attempt_at: c.state === "pending" ? iso(c.next_attempt_at ?? null) : null,
    })),
  };
}

/** Backups newest first, with their copies and 3-2-1 verdict. */
export function listBackups(ctx: AppContext, job?: string): BackupView[] {
  return ctx.catalog.listBackups(job ? { job } : {}).map((b) => backupView(ctx.config, b));
}

/**
 * The same, read from a target's manifests instead of the catalog (a bare machine), with the
 * places whose manifest is invalid and what each job's signed head says is wrong there. A
 * backup the catalog does not know is seen on this target only: its policy is not judged.
 */
export async function listBackupsOnTarget(ctx: AppContext, target: string, job?: string): Promise<{ backups: (BackupView & { policy_judged: boolean })[]; invalid: InvalidManifest[]; hidden: InvalidManifest[]; problems: string[] }> {
  const { records, invalid, hidden, warnings } = await readTargetManifests(ctx, target, job);
  const backups = records.map((r) => {
    // One target shows one copy: a backup this catalog knows is judged on all its copies.
    const known = ctx.catalog.getBackup(r.manifest.id);
    const view = backupView(ctx.config, known && known.job === r.manifest.job ? known : rowFromManifest(ctx, target, r));
    const judged = { ...view, policy_judged: Boolean(known) };
    return r.trust.trusted ? judged : { ...judged, state: "untrusted" as const, untrusted_reason: r.trust.reason };
  });
  const jobs = (job ? [job] : Object.keys(ctx.config.jobs)).filter((j) => ctx.config.jobs[j]!.targets.includes(target));
  const problems: string[] = [...warnings];
  for (const j of jobs) problems.push(...(await chainProblems(ctx, ctx.targets.get(target), j, records, [...invalid, ...hidden])));
  return { backups, invalid, hidden, problems };
}
