import { Outbox } from "../catalog/outbox.js";
import type { AppContext } from "./context.js";
import { jobStatuses } from "./status.js";

/** What the metrics page shows, read from the catalog and the objectives' states; it starts no work. */
export interface MetricsSnapshot {
  jobs: {
    job: string;
    lastGoodBackupAt: number | null;
    rpoSeconds: number;
    rpoBreach: boolean;
    lastBackupDurationSeconds: number | null;
    lastBackupSizeBytes: number | null;
    runs: Record<string, number>;
    policyOk: boolean | null;
    lastDrillAt: number | null;
    lastDrillDurationSeconds: number | null;
    lastDrillOk: boolean | null;
    rtoSeconds: number | null;
    rtoBreach: boolean;
    /** Backup runs failed in a row. */
    failingRuns: number;
    /** Cluster jobs with samples: the age of the oldest write not yet archived on every target. */
    walLagSeconds: number | null;
  }[];
  /** Copies by job, target and state. */
  copies: { job: string; target: string; state: string; count: number }[];
  targets: { target: string; storedBytes: number; pendingCopies: number }[];
  alertsWaiting: { channel: string; count: number }[];
  alertsDropped: number;
}

const WINDOW_MS = 86_400_000;

export function metricsSnapshot(ctx: AppContext): MetricsSnapshot {
  const statuses = jobStatuses(ctx, { windowMs: WINDOW_MS });
  const copies = ctx.catalog.copyTotals();
  const failing = new Map(ctx.catalog.failingJobs().map((f) => [f.job, f.failures]));
  return {
    jobs: statuses.map((s) => ({
      job: s.job,
      lastGoodBackupAt: s.last_backup_at ? Date.parse(s.last_backup_at) : null,
      rpoSeconds: s.rpo_seconds,
      rpoBreach: s.rpo_state === "breach",
      lastBackupDurationSeconds: ((ms) => (ms === undefined ? null : ms / 1000))(ctx.catalog.lastSuccessfulRunMs(s.job)),
      lastBackupSizeBytes: ctx.catalog.newestBackupOf(s.job)?.size ?? null,
      runs: ctx.catalog.runCounts(s.job),
      policyOk: s.policy_ok,
      lastDrillAt: s.last_drill ? Date.parse(s.last_drill.at) : null,
      lastDrillDurationSeconds: s.last_drill?.duration_seconds ?? null,
      lastDrillOk: s.last_drill?.ok ?? null,
      rtoSeconds: s.rto_seconds,
      rtoBreach: s.rto_state === "breach",
      failingRuns: failing.get(s.job) ?? 0,
      walLagSeconds: s.wal_lag_seconds,
    })),
    copies: copies.map(({ job, target, state, count }) => ({ job, target, state, count })),
    targets: Object.keys(ctx.config.targets).map((target) => ({
      target,
      storedBytes: copies.filter((c) => c.target === target && (c.state === "written" || c.state === "verified")).reduce((n, c) => n + c.bytes, 0),
      pendingCopies: copies.filter((c) => c.target === target && c.state === "pending").reduce((n, c) => n + c.count, 0),
    })),
    alertsWaiting: new Outbox(ctx.catalog.db).waiting(),
    alertsDropped: ctx.catalog.countEvents("alert_dropped"),
  };
}
