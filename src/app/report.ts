import { hostname } from "node:os";
import { ObjectiveStore } from "../catalog/objectives.js";
import { UsageError } from "../errors.js";
import { stateIntervals, windowFigures } from "../policy/objectives.js";
import { ageSeries } from "../policy/rpo-history.js";
import { BUILD, VERSION } from "../version.js";
import { verifyTrail } from "./audit.js";
import type { AppContext } from "./context.js";
import { backupView } from "./list.js";
import { assessJob, drillFact, RPO_HISTORY_MS } from "./objectives.js";

/**
 * The evidence report: per job, over a window, what the catalog proves about its objectives
 * (the RPO age and its breaches, each drill's measured RTO, the 3-2-1 state, signatures and
 * verification of each backup, what retention removed and why) and the audit trail's state.
 * What `drctl report` prints as JSON and renders as HTML (report/html.ts).
 */
export interface EvidenceReport {
  generated_at: string;
  host: string;
  drd: { version: string; build: string };
  window: { from: string; to: string; seconds: number };
  audit: { ok: boolean; lines: number | null; problem: string | null; compared: string[] };
  jobs: JobEvidence[];
}

export interface JobEvidence {
  job: string;
  type: string;
  rpo_seconds: number;
  rto_seconds: number | null;
  rpo: {
    state: string;
    /** The share of the measured part of the window within the RPO (null: nothing measured). */
    share_ok: number | null;
    measured_seconds: number;
    /** Where the recorded age history begins (null: none yet); the chart has no line before it. */
    history_from: string | null;
    /** The age's vertices over the window: it grows with the clock and drops where a newer backup became good. */
    age: { at: string; age_seconds: number | null }[];
    breaches: { from: string; to: string; duration_seconds: number; open: boolean; worst_age_seconds: number | null }[];
  };
  rto: { state: string; reason: string | null; measured_seconds: number | null };
  drills: { at: string; ok: boolean; rto_proven: boolean; duration_seconds: number; from: string | null; error: string | null }[];
  /** The backups in the catalog (each with its copies), newest first. */
  backups: {
    id: string;
    snapshot_at: string;
    size: number;
    encrypted: boolean;
    /** signed: a signature over its manifest was recorded; untrusted: admitted without one a trusted key made. */
    signature: "signed" | "unsigned" | "untrusted";
    policy_ok: boolean;
    /** What is short of the 3-2-1 policy, e.g. "1 of 2 verified copies". */
    policy_missing: string[];
    copies: { target: string; state: string; verified_at: string | null; error: string | null }[];
  }[];
  pruned: { at: string; backup_id: string | null; target: string | null; reasons: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : iso(ms));
const secs = (ms: number) => Math.round(ms) / 1000;

export async function evidenceReport(ctx: AppContext, options: { windowMs: number; job?: string }): Promise<EvidenceReport> {
  if (options.job && !(options.job in ctx.config.jobs)) throw new UsageError(`unknown job "${options.job}" (jobs: ${Object.keys(ctx.config.jobs).join(", ")})`);
  if (options.windowMs > RPO_HISTORY_MS) throw new UsageError(`--window: at most ${RPO_HISTORY_MS / 86_400_000}d (the RPO history drd keeps)`);
  const now = ctx.now();
  const from = now - options.windowMs;
  const trail = await verifyTrail(ctx);
  return {
    generated_at: iso(now),
    host: hostname(),
    drd: { version: VERSION, build: BUILD },
    window: { from: iso(from), to: iso(now), seconds: options.windowMs / 1000 },
    audit: trail.check.ok
      ? { ok: true, lines: trail.check.lines, problem: null, compared: trail.compared }
      : { ok: false, lines: null, problem: `line ${trail.check.line}: ${trail.check.problem}`, compared: trail.compared },
    jobs: Object.keys(ctx.config.jobs)
      .filter((name) => !options.job || name === options.job)
      .map((name) => jobEvidence(ctx, name, from, now)),
  };
}

function jobEvidence(ctx: AppContext, name: string, from: number, now: number): JobEvidence {
  const job = ctx.config.jobs[name]!;
  const store = new ObjectiveStore(ctx.catalog.db);
  const a = assessJob(ctx, name, job, now);
  const points = store.points(name, from);
  const series = ageSeries(points, from, now);
  const transitions = store.transitions(name, "rpo", from).map((t) => ({ at: t.at, to: t.to_state }));
  const worstAge = (a0: number, b0: number) => {
    const ages = series.filter((s) => s.at >= a0 && s.at <= b0 && s.ageMs !== null).map((s) => s.ageMs!);
    return ages.length ? secs(Math.max(...ages)) : null;
  };
  const figures = windowFigures(transitions, from, now);
  const drills = ctx.catalog.drillsFinishedSince(name, from).map((d) => ({ row: d, fact: drillFact(d) }));
  return {
    job: name,
    type: job.type,
    rpo_seconds: job.rpo,
    rto_seconds: job.rto ?? null,
    rpo: {
      state: a.rpo.state,
      share_ok: figures.share_ok === null ? null : Math.round(figures.share_ok * 10_000) / 10_000,
      measured_seconds: secs(figures.measured_ms),
      history_from: isoOrNull(points[0]?.at),
      age: series.map((s) => ({ at: iso(s.at), age_seconds: s.ageMs === null ? null : secs(s.ageMs) })),
      breaches: stateIntervals(transitions, from, now)
        .filter((i) => i.state === "breach")
        .map((i) => ({ from: iso(i.from), to: iso(i.to), duration_seconds: secs(i.to - i.from), open: i.open, worst_age_seconds: worstAge(i.from, i.to) })),
    },
    rto: { state: a.rto.state, reason: a.rto.reason, measured_seconds: a.rto.proven ? secs(a.rto.proven.durationMs) : null },
    drills: drills.map(({ row, fact }) => ({ at: iso(fact.at), ok: fact.ok, rto_proven: fact.rtoProven, duration_seconds: secs(fact.durationMs), from: row.target, error: row.error })),
    backups: ctx.catalog.listBackups({ job: name }).map((b) => {
      const view = backupView(ctx.config, b);
      return {
        id: b.id,
        snapshot_at: view.snapshot_at,
        size: b.size,
        encrypted: view.encrypted,
        signature: b.untrusted ? "untrusted" : b.signature ? "signed" : "unsigned",
        policy_ok: view.policy_ok,
        policy_missing: view.policy.missing,
        copies: view.copies.map((c) => ({ target: c.target, state: c.state, verified_at: c.verified_at, error: c.error })),
      };
    }),
    pruned: ctx.catalog
      .events({ job: name, since: from, limit: 100_000 })
      .filter((e) => e.kind === "pruned")
      .map((e) => ({ at: iso(e.at), backup_id: e.backup_id, target: e.target, reasons: e.detail ?? "" })),
  };
}
