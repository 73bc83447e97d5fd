import { isFutureDated, type ClockView } from "./clock.js";

/**
 * Retention planning: which backups a target keeps and why. A pure function, so every
 * rule is tested with tables. Rules are ORed (a backup any rule keeps is kept), as in
 * restic's `forget`, with safety rules on top:
 *  - an empty policy is refused (it would delete everything);
 *  - the newest backup that meets the 3-2-1 policy, and everything newer, is always kept;
 *  - max_age counts back from the newest good backup, not from now, so a stalled backup
 *    job never ages every backup out;
 *  - a backup dated ahead of the clock (policy/clock.ts) is kept until the clock passes
 *    it, and takes no part in the rules: it never anchors max_age nor takes a bucket or a
 *    keep_last place from a correctly dated backup.
 */
export interface RetentionRules {
  max_age?: number | undefined; // seconds
  keep_last?: number | undefined;
  keep_hourly?: number | undefined;
  keep_daily?: number | undefined;
  keep_weekly?: number | undefined;
  keep_monthly?: number | undefined;
  keep_yearly?: number | undefined;
}

export interface RetentionCandidate {
  id: string;
  snapshotAt: number; // ms since the epoch
  /** Meets the 3-2-1 policy (enough verified copies). */
  good: boolean;
}

export interface RetentionDecision {
  id: string;
  snapshotAt: number;
  keep: boolean;
  reasons: string[];
}

export class EmptyRetentionError extends Error {
  constructor() {
    super("retention has no rule: refusing to plan (it would remove every backup)");
  }
}

const BUCKETS = [
  ["keep_hourly", "hourly"],
  ["keep_daily", "daily"],
  ["keep_weekly", "weekly"],
  ["keep_monthly", "monthly"],
  ["keep_yearly", "yearly"],
] as const;

type Granularity = (typeof BUCKETS)[number][1];

export function hasRules(rules: RetentionRules): boolean {
  return Object.values(rules).some((v) => v !== undefined);
}

export function planRetention(candidates: readonly RetentionCandidate[], rules: RetentionRules, timezone = "UTC", clock?: ClockView): RetentionDecision[] {
  if (!hasRules(rules)) throw new EmptyRetentionError();
  const future = clock ? candidates.filter((c) => isFutureDated(c.snapshotAt, clock)) : [];
  const dated = clock ? candidates.filter((c) => !isFutureDated(c.snapshotAt, clock)) : candidates;
  const ahead = future
    .sort((a, b) => b.snapshotAt - a.snapshotAt || (a.id < b.id ? 1 : -1))
    .map((c) => ({ id: c.id, snapshotAt: c.snapshotAt, keep: true, reasons: ["dated ahead of the clock (clock skew): kept until the clock passes it"] }));
  return [...ahead, ...planDated(dated, rules, timezone)];
}

function planDated(candidates: readonly RetentionCandidate[], rules: RetentionRules, timezone: string): RetentionDecision[] {
  const sorted = [...candidates].sort((a, b) => b.snapshotAt - a.snapshotAt || (a.id < b.id ? 1 : -1));
  const decisions = sorted.map((c) => ({ id: c.id, snapshotAt: c.snapshotAt, keep: false, reasons: [] as string[] }));
  const keep = (i: number, reason: string) => {
    decisions[i]!.keep = true;
    decisions[i]!.reasons.push(reason);
  };

  const newestGood = sorted.findIndex((c) => c.good);
  if (newestGood === -1) {
    decisions.forEach((_, i) => keep(i, "no backup meets the policy yet"));
    return decisions;
  }
  keep(newestGood, "newest backup that meets the policy");
  for (let i = 0; i < newestGood; i++) keep(i, "newer than the newest backup that meets the policy");

  if (rules.keep_last) for (let i = 0; i < Math.min(rules.keep_last, sorted.length); i++) keep(i, `keep_last ${rules.keep_last}`);

  for (const [rule, granularity] of BUCKETS) {
    const limit = rules[rule];
    if (!limit) continue;
    const seen = new Set<string>();
    for (let i = 0; i < sorted.length && seen.size < limit; i++) {
      const bucket = bucketOf(sorted[i]!.snapshotAt, granularity, timezone);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep(i, `${granularity} ${bucket}`);
    }
  }

  if (rules.max_age !== undefined) {
    const oldestKept = sorted[newestGood]!.snapshotAt - rules.max_age * 1000;
    sorted.forEach((c, i) => {
      if (c.snapshotAt >= oldestKept) keep(i, `within max_age of the newest good backup`);
    });
  }

  for (const d of decisions) if (!d.keep) d.reasons.push("no rule keeps it");
  return decisions;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsIn(ms: number, timezone: string) {
  // The default zone needs no Intl formatting, which costs microseconds per call.
  if (timezone === "UTC") {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
  }
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit" });
    formatters.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour) };
}

/** The calendar bucket of a time in `timezone`: "2026-11-23T10", "2026-11-23", "2026-W48", "2026-11", "2026". */
export function bucketOf(ms: number, granularity: Granularity, timezone: string): string {
  const { year, month, day, hour } = partsIn(ms, timezone);
  const pad = (n: number) => String(n).padStart(2, "0");
  switch (granularity) {
    case "hourly":
      return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}`;
    case "daily":
      return `${year}-${pad(month)}-${pad(day)}`;
    case "weekly": {
      const [isoYear, week] = isoWeek(year, month, day);
      return `${isoYear}-W${pad(week)}`;
    }
    case "monthly":
      return `${year}-${pad(month)}`;
    case "yearly":
      return `${year}`;
  }
}

/** ISO 8601 week of a calendar date. */
function isoWeek(year: number, month: number, day: number): [number, number] {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return [date.getUTCFullYear(), Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7)];
}

/** A cluster job's base backup as a point-in-time window sees it: when it became consistent. */
export interface WindowBase {
  id: string;
  consistentAt: number;
}

/**
 * The base backups a point-in-time window of `windowMs` needs at `now`, each with why: every
 * one consistent within the window, and the newest one consistent before it began (a replay
 * to the window's first moment starts there). Retention keeps them whatever its rules say.
 */
export function pitrWindowKeeps(bases: readonly WindowBase[], windowMs: number, now: number, label: string): Map<string, string> {
  const start = now - windowMs;
  const keeps = new Map<string, string>();
  for (const b of bases) if (b.consistentAt >= start) keeps.set(b.id, `within pitr_window ${label}`);
  const before = bases.filter((b) => b.consistentAt < start).sort((a, b) => b.consistentAt - a.consistentAt)[0];
  if (before) keeps.set(before.id, `pitr_window ${label} begins after it: the replay to the window's first moment starts here`);
  return keeps;
}
