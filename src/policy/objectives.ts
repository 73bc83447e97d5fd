/*
 * Recovery objectives as pure functions of what the catalog knows, so they are tested
 * with tables and every caller (status, the daemon's evaluation, alerts, metrics) agrees.
 */

/** not_measured: a drill host (role: drills) takes no backups, so its catalog cannot say how old the newest good one is. */
export type RpoState = "ok" | "breach" | "never" | "not_measured";
export type RtoState = "ok" | "breach" | "untested";

export interface RpoInput {
  now: number;
  rpoMs: number;
  /** Snapshot time of the newest backup that meets the 3-2-1 policy (its copies verified), if any. */
  lastGoodSnapshotAt: number | undefined;
  /** When the job was first tried (its first run), if ever: a job that never produced a good backup is in breach once this is older than the RPO. */
  firstRunAt: number | undefined;
}

export interface RpoVerdict {
  state: RpoState;
  /** Age of the newest good backup, or since the first run when there is none; null when never tried. */
  ageMs: number | null;
}

/**
 * RPO is measured from the newest backup that meets the policy, not the newest attempted:
 * a backup whose offsite copy is still pending does not count. The age equal to the RPO is
 * still within it. A job with no good backup yet is `never` until it has been tried for
 * longer than its RPO, then in breach.
 */
export function rpoVerdict(i: RpoInput): RpoVerdict {
  if (i.lastGoodSnapshotAt !== undefined) {
    const ageMs = Math.max(0, i.now - i.lastGoodSnapshotAt);
    return { state: ageMs <= i.rpoMs ? "ok" : "breach", ageMs };
  }
  if (i.firstRunAt === undefined) return { state: "never", ageMs: null };
  const ageMs = Math.max(0, i.now - i.firstRunAt);
  return { state: ageMs > i.rpoMs ? "breach" : "never", ageMs };
}

export interface DrillFact {
  at: number;
  /** The drill restored and every check passed. */
  ok: boolean;
  /** It restored for real (not an integrity-only drill of an encrypted job without a key). */
  rtoProven: boolean;
  durationMs: number;
}

export interface RtoInput {
  now: number;
  /** null: the job declares no RTO; drills are then judged by their outcome and age only. */
  rtoMs: number | null;
  maxAgeMs: number;
  /** Finished drills, any order. */
  drills: readonly DrillFact[];
}

export interface RtoVerdict {
  state: RtoState;
  /** Why, in words, when not ok. */
  reason: string | null;
  /** The newest drill that proved a restore: its measured duration is the RTO. */
  proven: DrillFact | undefined;
}

/**
 * RTO is the measured duration of the newest successful drill that really restored. It is
 * in breach when the newest drill failed, when that duration exceeds the RTO, or when no
 * drill proved a restore within `maxAgeMs`; `untested` while no drill has ever run.
 */
export function rtoVerdict(i: RtoInput): RtoVerdict {
  const drills = [...i.drills].sort((a, b) => b.at - a.at);
  const newest = drills[0];
  const proven = drills.find((d) => d.ok && d.rtoProven);
  if (!newest) return { state: "untested", reason: "no drill has run", proven };
  if (!newest.ok) return { state: "breach", reason: "the newest drill failed", proven };
  if (!proven) return { state: "untested", reason: "no drill has restored this job (integrity checked only)", proven };
  if (i.now - proven.at > i.maxAgeMs) return { state: "breach", reason: `no drill proved a restore within ${Math.round(i.maxAgeMs / 3_600_000)} h`, proven };
  if (i.rtoMs !== null && proven.durationMs > i.rtoMs) return { state: "breach", reason: `the newest good drill took ${(proven.durationMs / 1000).toFixed(1)} s, over the RTO of ${i.rtoMs / 1000} s`, proven };
  return { state: "ok", reason: null, proven };
}

/** A recorded change of one objective's state. */
export interface Transition {
  at: number;
  to: string;
}

export interface WindowFigures {
  /** Share of the window (from the first evaluation on) spent `ok`, 0..1; null when nothing was evaluated in it. */
  share_ok: number | null;
  /** Breaches that began in the window, or were open when it began. */
  breaches: number;
  /** The longest of them, clipped to the window (an open one counts up to now). */
  longest_breach_ms: number;
  /** What `share_ok` is a share of: the time in the window with a known state. */
  measured_ms: number;
  /** The part of it before the job's first good backup (state `never`): not ok, and no breach either. */
  never_ms: number;
}

/**
 * Figures of one objective over [from, to] from its transitions (any order): the state is
 * what the newest transition at or before a moment says. Time before the first transition
 * is not counted.
 */
export function windowFigures(transitions: readonly Transition[], from: number, to: number): WindowFigures {
  const sorted = [...transitions].sort((a, b) => a.at - b.at);
  let state: string | undefined;
  let since = from;
  let okMs = 0;
  let countedMs = 0;
  let neverMs = 0;
  let breaches = 0;
  let longest = 0;
  const close = (until: number) => {
    if (state === undefined || until <= since) return;
    countedMs += until - since;
    if (state === "ok") okMs += until - since;
    if (state === "never") neverMs += until - since;
    if (state === "breach") longest = Math.max(longest, until - since);
  };
  for (const t of sorted) {
    if (t.at > to) break;
    if (t.at <= from) {
      state = t.to;
      continue;
    }
    close(t.at);
    if (t.to === "breach" && state !== "breach") breaches++;
    state = t.to;
    since = t.at;
  }
  // A breach already open when the window began counts once.
  if (lastAtOrBefore(sorted, from)?.to === "breach") breaches++;
  close(to);
  return { share_ok: countedMs > 0 ? okMs / countedMs : null, breaches, longest_breach_ms: longest, measured_ms: countedMs, never_ms: neverMs };
}

function lastAtOrBefore(sorted: readonly Transition[], at: number): Transition | undefined {
  let found: Transition | undefined;
  for (const t of sorted) {
    if (t.at > at) break;
    found = t;
  }
  return found;
}

/** A stretch of one state within a window; `open` when it still held at the window's end. */
export interface StateInterval {
  state: string;
  from: number;
  to: number;
  open: boolean;
}

/**
 * The states of one objective over [from, to], from its transitions (any order), clipped to
 * the window: a breach that began before `from` starts at `from`. Consecutive transitions to
 * the same state make one interval. Time before the first transition is left out.
 */
export function stateIntervals(transitions: readonly Transition[], from: number, to: number): StateInterval[] {
  const sorted = [...transitions].filter((t) => t.at <= to).sort((a, b) => a.at - b.at);
  const out: StateInterval[] = [];
  for (const [i, t] of sorted.entries()) {
    const start = Math.max(t.at, from);
    const end = i + 1 < sorted.length ? Math.min(sorted[i + 1]!.at, to) : to;
    if (end <= start) continue;
    const last = out.at(-1);
    if (last && last.state === t.to && last.to === start) last.to = end;
    else out.push({ state: t.to, from: start, to: end, open: false });
  }
  const last = out.at(-1);
  if (last && last.to === to && sorted.at(-1)?.to === last.state) last.open = true;
  return out;
}
