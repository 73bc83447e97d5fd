import { alertMessage } from "../alerts/message.js";
import { ObjectiveStore, type Objective } from "../catalog/objectives.js";
import type { ClusterJobConfig, JobConfig } from "../config/schema.js";
import { latestTrustedTime } from "../policy/clock.js";
import { nextTransition } from "../policy/transitions.js";
import { recordsPoint } from "../policy/rpo-history.js";
import { rpoVerdict, rtoVerdict, type DrillFact, type RpoVerdict, type RtoVerdict } from "../policy/objectives.js";
import type { AppContext } from "./context.js";
import { human } from "./human.js";
import { parseManifest, type FinishedDrill } from "../catalog/catalog.js";
import { chainEnd, durableEnd, parseLsn, parseSegmentName, segmentOf, walLagMs } from "../policy/wal.js";
import { parsePartialName } from "../wal/layout.js";
import { policyVerdict } from "../policy/three-two-one.js";
import { dutiesOf } from "../policy/role.js";
import { deliverDue, notify, type DeliveryResult } from "./notify.js";

/** Without `drill.max_age`, RTO is in breach when no drill proved a restore in 8 days. */
export const DEFAULT_DRILL_MAX_AGE_MS = 8 * 86_400_000;

export interface GoodBackup {
  id: string;
  snapshot_at: number;
  /** Cluster jobs: what is restorable, from the base backup's consistency to the newest moment, and the WAL's lag behind the server. */
  cluster?: { consistentAt: number; walLagMs: number | null };
}

export interface LastDrill {
  id: number;
  at: number;
  ok: boolean;
  rto_proven: boolean;
  duration_ms: number;
  from: string | null;
  error: string | null;
}

export interface JobAssessment {
  job: string;
  rpoMs: number;
  rtoMs: number | null;
  lastGood: GoodBackup | undefined;
  rpo: RpoVerdict;
  rto: RtoVerdict;
  lastDrill: LastDrill | undefined;
}

/** How far back the RPO age history (the report's chart) reaches. */
export const RPO_HISTORY_MS = 100 * 86_400_000;

/** How many newest backups are looked at for one that meets the policy; the catalog may hold 100,000. */
const GOOD_BACKUP_SCAN = 500;
const DRILL_SCAN = 100;

/** A job's objectives now, from the catalog: the newest backup that meets the policy, and its drills. */
export function assessJob(ctx: AppContext, name: string, job: JobConfig, now: number): JobAssessment {
  // A backup dated ahead of the clock never defines the RPO (policy/clock.ts).
  const trusted = latestTrustedTime({ now, allowanceMs: ctx.config.clock_skew_allowance * 1000 });
  const measureRpo = dutiesOf(ctx.config.role).measureRpo;
  const lastGood = !measureRpo ? undefined : job.type === "postgres_cluster" ? newestRestorablePoint(ctx, name, job, trusted, now) : newestGoodBackup(ctx, name, trusted);
  const firstRun = ctx.catalog.firstRunAt(name);
  const drills = ctx.catalog.finishedDrills(name, DRILL_SCAN);
  const facts = drills.map(drillFact);
  const newest = drills[0];
  return {
    job: name,
    rpoMs: job.rpo * 1000,
    rtoMs: job.rto === undefined ? null : job.rto * 1000,
    lastGood,
    rpo: measureRpo ? rpoVerdict({ now, rpoMs: job.rpo * 1000, lastGoodSnapshotAt: lastGood?.snapshot_at, firstRunAt: firstRun }) : { state: "not_measured", ageMs: null },
    rto: rtoVerdict({ now, rtoMs: job.rto === undefined ? null : job.rto * 1000, maxAgeMs: job.drill?.max_age === undefined ? DEFAULT_DRILL_MAX_AGE_MS : job.drill.max_age * 1000, drills: facts }),
    lastDrill: newest && {
      id: newest.id,
      at: newest.finished_at,
      ok: newest.ok === 1,
      rto_proven: facts[0]!.rtoProven,
      duration_ms: facts[0]!.durationMs,
      from: newest.target,
      error: newest.error,
    },
  };
}

/** What a finished drill proves, as the RTO judges it. */
export function drillFact(d: FinishedDrill): DrillFact {
  const phases = d.phases ? (JSON.parse(d.phases) as { rto_proven?: boolean; rto_ms?: number }) : {};
  return {
    at: d.finished_at,
    ok: d.ok === 1,
    rtoProven: d.ok === 1 && phases.rto_proven === true,
    // A cluster drill makes several restores: its RTO is the slowest of them (rto_ms), not their sum.
    durationMs: typeof phases.rto_ms === "number" ? phases.rto_ms : d.finished_at - d.started_at,
  };
}

/** How long the daemon's samples of a cluster's WAL position are kept and read. */
export const WAL_POSITIONS_KEPT_MS = 24 * 3600_000;

/**
 * A cluster job's newest restorable moment. Its newest base backup that meets the policy and
 * whose WAL from its start to its end (where it is consistent) is archived on every target,
 * replayed on through the WAL archived there without a gap: restorable up to that chain's
 * end. A base backup just taken whose end is not archived yet restores nothing yet: the one
 * before it still does, through the same WAL. With the daemon's samples of the server's WAL
 * position, the moment is now minus the age of the oldest write past that end (0 when caught
 * up, however idle the server); without them, when the chain's last file was archived
 * (conservative: a quiet server's moment then ages although nothing is at risk).
 */
function newestRestorablePoint(ctx: AppContext, job: string, config: ClusterJobConfig, notAfter: number, now: number): GoodBackup | undefined {
  const perTarget = config.targets.map((t) => new Map(ctx.catalog.walSegments(job, t).map((r) => [r.name, r.stored_at])));
  for (const base of goodBackups(ctx, job, notAfter)) {
    const manifest = parseManifest(ctx.catalog.getBackup(base.id)!);
    if (manifest.kind !== "postgres_cluster") continue;
    const point = restorableFrom(ctx, job, config, manifest.cluster, Date.parse(manifest.finished_at), perTarget, now);
    if (point) return { id: base.id, ...point };
  }
  return undefined;
}

function restorableFrom(
  ctx: AppContext,
  job: string,
  config: ClusterJobConfig,
  cluster: Extract<ReturnType<typeof parseManifest>, { kind: "postgres_cluster" }>["cluster"],
  consistentAt: number,
  perTarget: Map<string, number>[],
  now: number,
): Omit<GoodBackup, "id"> | undefined {
  const { timeline, wal_segment_size: size, start_lsn, end_lsn } = cluster;
  // Archived on every target: a file counts once the last of them took it.
  const archivedAt = new Map<bigint, number>();
  for (const [name, at] of perTarget[0] ?? []) {
    const segment = parseSegmentName(name, size);
    if (!segment || segment.timeline !== timeline || !perTarget.every((m) => m.has(name))) continue;
    archivedAt.set(segment.number, Math.max(at, ...perTarget.map((m) => m.get(name)!)));
  }
  const end = parseLsn(end_lsn);
  const chain = chainEnd(segmentOf(timeline, parseLsn(start_lsn), size).number, segmentOf(timeline, end === 0n ? 0n : end - 1n, size).number, archivedAt);
  if (!chain) return undefined;
  const samples = ctx.catalog.walPositions(job, now - WAL_POSITIONS_KEPT_MS).map((p) => ({ at: p.at, lsn: parseLsn(p.lsn) }));
  // A partial copy of the segment after the chain, on every target, reaches further.
  const partials = config.targets.map((t) => {
    const p = parsePartialName(ctx.catalog.walPartial(job, t)?.name ?? "");
    const segment = p && parseSegmentName(p.segment, size);
    return segment && segment.timeline === timeline ? { number: segment.number, covered: p.covered } : undefined;
  });
  const lag = samples.length > 0 ? walLagMs(samples, durableEnd(chain.last, size, partials), now) : null;
  return { snapshot_at: lag === null ? chain.at : Math.max(consistentAt, now - lag), cluster: { consistentAt, walLagMs: lag } };
}

function newestGoodBackup(ctx: AppContext, job: string, notAfter: number): GoodBackup | undefined {
  for (const b of goodBackups(ctx, job, notAfter)) return b;
  return undefined;
}

/** The job's backups that meet the policy, newest first (of the newest GOOD_BACKUP_SCAN). */
function* goodBackups(ctx: AppContext, job: string, notAfter: number): Generator<GoodBackup> {
  for (const b of ctx.catalog.newestBackupsWithStates(job, notAfter, GOOD_BACKUP_SCAN)) {
    if (policyVerdict(ctx.config, b.copies).ok) yield { id: b.id, snapshot_at: b.snapshot_at };
  }
}

/**
 * Assesses every job, records each change of an objective's state (with the age or
 * duration that caused it) and raises the alerts: a breach once when it opens, again every
 * `renotify` while it stays open, and its recovery once. One transaction per job, so two
 * drctl processes evaluating at once record a change once.
 */
export function evaluateObjectives(ctx: AppContext): JobAssessment[] {
  const store = new ObjectiveStore(ctx.catalog.db);
  const out: JobAssessment[] = [];
  for (const [name, job] of Object.entries(ctx.config.jobs)) {
    ctx.catalog.db
      .transaction(() => {
        const now = ctx.now();
        const a = assessJob(ctx, name, job, now);
        out.push(a);
        // Not measured is not a state to record: it would open and close nothing, and alert nobody.
        if (a.rpo.state !== "not_measured") {
          record(ctx, store, { job: name, objective: "rpo", state: a.rpo.state, valueMs: a.rpo.ageMs, words: rpoWords(a) }, now);
          const snapshotAt = a.lastGood?.snapshot_at ?? null;
          if (recordsPoint(store.lastPoint(name), snapshotAt, now, a.rpoMs)) store.addPoint(name, { at: now, snapshotAt });
          store.forgetPointsBefore(name, now - RPO_HISTORY_MS);
        }
        record(ctx, store, { job: name, objective: "rto", state: a.rto.state, valueMs: a.rto.proven?.durationMs ?? null, words: rtoWords(a) }, now);
        flagFutureDated(ctx, name, now);
      })
      .immediate();
  }
  return out;
}

/**
 * What the daemon does on every tick and a command does before it exits: evaluate every
 * job, then deliver what the outbox holds.
 */
export async function settleObjectives(ctx: AppContext): Promise<{ assessments: JobAssessment[]; deliveries: DeliveryResult[] }> {
  const assessments = evaluateObjectives(ctx);
  return { assessments, deliveries: await deliverDue(ctx) };
}

/** One objective of one job as just evaluated, with the words its alerts use. */
interface Evaluated {
  job: string;
  objective: Objective;
  state: string;
  valueMs: number | null;
  words: { breach: string; recovered: string };
}

/** Records what the evaluation found and raises the alerts policy/transitions.ts decides. */
function record(ctx: AppContext, store: ObjectiveStore, e: Evaluated, now: number): void {
  const { job, objective, valueMs, words } = e;
  const current = store.current(job, objective);
  const step = nextTransition(
    current && { state: current.state, since: current.since, valueMs: current.value_ms, notifiedAt: current.notified_at },
    { state: e.state, valueMs },
    now,
    ctx.config.renotify * 1000,
  );
  if (step.kind === "holds") {
    store.touch(job, objective, valueMs);
    if (step.renotify) {
      notify(ctx, alertMessage(`${objective}_breach`, job, `still: ${words.breach}`, { objective, since: new Date(current!.since).toISOString(), value_seconds: seconds(valueMs), renotify: true }, now));
      store.markNotified(job, objective, now);
    }
    return;
  }
  store.change({ job, objective, state: e.state, since: now, value_ms: valueMs }, current, step.tell === "breach" ? words.breach : null);
  if (step.tell === "breach") {
    notify(ctx, alertMessage(`${objective}_breach`, job, words.breach, { objective, from: current?.state ?? null, value_seconds: seconds(valueMs) }, now));
    store.markNotified(job, objective, now);
  } else if (step.tell === "recovered") {
    const lasted = step.lastedMs!;
    notify(ctx, alertMessage(`${objective}_recovered`, job, `${words.recovered} (the breach lasted ${human(lasted)})`, { objective, breach_seconds: seconds(lasted), worst_seconds: seconds(step.worstMs) }, now));
  }
}

/** Each backup dated ahead of the clock is an event and an alert, once: the clock was wrong when it was taken, or is now. */
function flagFutureDated(ctx: AppContext, job: string, now: number): void {
  const clock = { now, allowanceMs: ctx.config.clock_skew_allowance * 1000 };
  for (const b of ctx.catalog.backupsDatedAfter(job, latestTrustedTime(clock))) {
    if (ctx.catalog.hasEvent("clock_skew", b.id)) continue;
    const ahead = human(b.snapshot_at - now);
    const message = `${job}: backup ${b.id} is dated ${new Date(b.snapshot_at).toISOString()}, ${ahead} ahead of this host's clock; it is kept, and counts for neither RPO nor retention until the clock passes it`;
    ctx.catalog.addEvent({ at: now, kind: "clock_skew", job, backup_id: b.id, detail: message });
    notify(ctx, alertMessage("clock_skew", job, message, { backup_id: b.id, snapshot_at: new Date(b.snapshot_at).toISOString(), ahead_seconds: seconds(b.snapshot_at - now) }, now));
  }
}

function rpoWords(a: JobAssessment): { breach: string; recovered: string } {
  const rpo = human(a.rpoMs);
  return {
    breach: a.lastGood
      ? `${a.job}: the newest backup that meets the policy is ${human(a.rpo.ageMs ?? 0)} old, over its RPO of ${rpo}`
      : `${a.job}: no backup has met the policy since the job was first run ${human(a.rpo.ageMs ?? 0)} ago (RPO ${rpo})`,
    recovered: `${a.job} is within its RPO of ${rpo} again: backup ${a.lastGood?.id ?? "?"} meets the policy`,
  };
}

function rtoWords(a: JobAssessment): { breach: string; recovered: string } {
  return {
    breach: `${a.job}: RTO not met: ${a.rto.reason ?? "unknown"}`,
    recovered: `${a.job} meets its RTO again: a drill restored it in ${human(a.rto.proven?.durationMs ?? 0)}`,
  };
}

const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms / 1000));
