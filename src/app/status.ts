import { ObjectiveStore } from "../catalog/objectives.js";
import { BUILD, VERSION } from "../version.js";
import { runningDaemon, type DaemonRecord } from "./daemon-record.js";
import { UsageError } from "../errors.js";
import { windowFigures } from "../policy/objectives.js";
import { nextSlot } from "../policy/schedule.js";
import { latestTrustedTime } from "../policy/clock.js";
import { clockOf, type AppContext } from "./context.js";
import { policyVerdict } from "../policy/three-two-one.js";
import { dutiesOf } from "../policy/role.js";
import { assessJob, type JobAssessment } from "./objectives.js";

export interface JobStatus {
  job: string;
  type: "postgres" | "files" | "postgres_cluster";
  /** Cluster jobs: from the newest restorable base backup's consistency to the newest restorable moment (null otherwise, or with none). */
  recovery_window: { from: string; to: string } | null;
  /** Cluster jobs: the age of the oldest write not yet archived on every target, from the daemon's samples (null without them). */
  wal_lag_seconds: number | null;
  /** Backups failing now: since when, how many runs, the last error (null while they succeed). */
  failing: { since: string; runs: number; error: string } | null;
  /** The newest backup that meets the policy: what RPO is measured from. */
  last_backup_id: string | null;
  last_backup_at: string | null;
  age_seconds: number | null;
  rpo_seconds: number;
  rpo_state: JobAssessment["rpo"]["state"];
  /** The newest backup that landed, whether or not it meets the policy yet. */
  newest_backup_id: string | null;
  policy_ok: boolean | null;
  copies: { target: string; state: string; verified_at: string | null; error: string | null }[];
  /** null on a drill host (role: drills): it takes no backups. */
  next_backup_at: string | null;
  next_drill_at: string | null;
  last_drill: { at: string; ok: boolean; duration_seconds: number; from: string | null; rto_proven: boolean; error: string | null } | null;
  rto_seconds: number | null;
  rto_state: JobAssessment["rto"]["state"];
  rto_reason: string | null;
  /** The newest drill that proved a restore: the measured RTO. */
  measured_rto_seconds: number | null;
  /** Backups dated ahead of this host's clock (kept; they count for neither RPO nor retention until the clock passes them). */
  clock_skew: { backup_ids: string[]; newest_at: string } | null;
  /** Backups a catalog rebuild admitted with --allow-unsigned: listed, never counted. */
  untrusted_backups: string[];
  window: {
    seconds: number;
    rpo: {
      share_ok: number | null;
      /** What share_ok is a share of: the seconds in the window with a known state (from the job's first evaluation on). */
      measured_seconds: number;
      /** Of those, the seconds before the job's first good backup: not ok, and no breach either. */
      before_first_backup_seconds: number;
      breaches: number;
      longest_breach_seconds: number;
      worst_age_seconds: number | null;
    };
    rto: { drills_passed: number; drills_failed: number; slowest_seconds: number | null };
  };
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
// Milliseconds kept: a drill of a small directory takes 30 ms, which is not 0.
const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : Math.round(ms) / 1000);

/** Per job: the objectives now and over the last `windowMs`, from the catalog alone (it starts no work). */
export function jobStatuses(ctx: AppContext, options: { job?: string; windowMs: number }): JobStatus[] {
  if (options.job && !(options.job in ctx.config.jobs)) throw new UsageError(`unknown job "${options.job}" (jobs: ${Object.keys(ctx.config.jobs).join(", ")})`);
  const now = ctx.now();
  const from = now - options.windowMs;
  const store = new ObjectiveStore(ctx.catalog.db);
  return Object.entries(ctx.config.jobs)
    .filter(([name]) => !options.job || name === options.job)
    .map(([name, job]) => {
      const a = assessJob(ctx, name, job, now);
      const newest = ctx.catalog.newestBackupOf(name);
      const newestView = newest ? ctx.catalog.getBackup(newest.id) : undefined;
      const rpoTransitions = store.transitions(name, "rpo", from);
      const rpoFigures = windowFigures(rpoTransitions.map((t) => ({ at: t.at, to: t.to_state })), from, now);
      const current = store.current(name, "rpo");
      const ages = [
        ...rpoTransitions.filter((t) => t.at > from).flatMap((t) => [t.value_ms, t.prev_max_ms]),
        current?.value_ms,
        a.rpo.ageMs,
      ].filter((v): v is number => typeof v === "number");
      const drills = ctx.catalog.drillsFinishedAfter(name, from);
      const passed = drills.filter((d) => d.ok === 1);
      const ahead = ctx.catalog.backupsDatedAfter(name, latestTrustedTime(clockOf(ctx)));
      // A drill host learnt each backup from one target: it cannot judge the policy on all of them.
      const policy = newestView && dutiesOf(ctx.config.role).measureRpo ? policyVerdict(ctx.config, newestView.copies).ok : null;
      return {
        job: name,
        type: job.type,
        failing: failingOf(ctx, name),
        recovery_window: a.lastGood?.cluster ? { from: iso(a.lastGood.cluster.consistentAt)!, to: iso(a.lastGood.snapshot_at)! } : null,
        wal_lag_seconds: secs(a.lastGood?.cluster?.walLagMs),
        last_backup_id: a.lastGood?.id ?? null,
        last_backup_at: iso(a.lastGood?.snapshot_at),
        age_seconds: a.lastGood ? secs(a.rpo.ageMs) : null,
        rpo_seconds: job.rpo,
        rpo_state: a.rpo.state,
        newest_backup_id: newest?.id ?? null,
        untrusted_backups: ctx.catalog.untrustedBackups(name),
        policy_ok: policy,
        copies: (newestView?.copies ?? []).map((c) => ({ target: c.target, state: c.state, verified_at: iso(c.verified_at), error: c.error })),
        next_backup_at: dutiesOf(ctx.config.role).backups ? iso(nextSlot(job.schedule, ctx.config.timezone, now)) : null,
        next_drill_at: job.drill?.schedule ? iso(nextSlot(job.drill.schedule, ctx.config.timezone, now)) : null,
        last_drill: a.lastDrill
          ? { at: iso(a.lastDrill.at)!, ok: a.lastDrill.ok, duration_seconds: secs(a.lastDrill.duration_ms)!, from: a.lastDrill.from, rto_proven: a.lastDrill.rto_proven, error: a.lastDrill.error }
          : null,
        rto_seconds: job.rto ?? null,
        rto_state: a.rto.state,
        rto_reason: a.rto.reason,
        measured_rto_seconds: secs(a.rto.proven?.durationMs),
        clock_skew: ahead.length ? { backup_ids: ahead.map((b) => b.id), newest_at: iso(ahead[0]!.snapshot_at)! } : null,
        window: {
          seconds: options.windowMs / 1000,
          rpo: {
            share_ok: rpoFigures.share_ok === null ? null : Math.round(rpoFigures.share_ok * 10_000) / 10_000,
            measured_seconds: secs(rpoFigures.measured_ms)!,
            before_first_backup_seconds: secs(rpoFigures.never_ms)!,
            breaches: rpoFigures.breaches,
            longest_breach_seconds: secs(rpoFigures.longest_breach_ms)!,
            worst_age_seconds: ages.length ? secs(Math.max(...ages)) : null,
          },
          rto: { drills_passed: passed.length, drills_failed: drills.length - passed.length, slowest_seconds: passed.length ? secs(Math.max(...passed.map((d) => d.ms))) : null },
        },
      };
    });
}

function failingOf(ctx: AppContext, job: string): JobStatus["failing"] {
  const p = ctx.catalog.openProblem(job);
  return p ? { since: iso(p.since)!, runs: p.failures, error: p.lastError } : null;
}

/** Whether any job is in breach of an objective (what `status --check` exits 1 on). */
export function anyBreach(statuses: readonly JobStatus[]): boolean {
  return statuses.some((s) => s.rpo_state === "breach" || s.rto_state === "breach");
}

export interface DaemonStatus {
  /** The daemon running on this state dir, if one is. */
  running: DaemonRecord | undefined;
  /** The build this drctl is: what is installed now. */
  installed: { version: string; build: string };
  /** The daemon runs another build than the one installed: it needs a restart to run the new one. */
  stale: boolean;
}

export function daemonStatus(ctx: AppContext): DaemonStatus {
  const running = runningDaemon(ctx.config.state_dir);
  const installed = { version: VERSION, build: BUILD };
  return { running, installed, stale: running !== undefined && (running.version !== VERSION || running.build !== BUILD) };
}
