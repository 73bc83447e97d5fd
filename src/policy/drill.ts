import type { TableCount } from "../manifest.js";

/** Milliseconds since the epoch. */
type Ms = number;

/**
 * The window a drill of a cluster job picks its random moment in: from the oldest base
 * backup's consistency (finished_at) on the drill's target to the end of the newest
 * transaction the archive holds (a restore to latest finds it). Past that last transaction
 * every moment restores the same as latest, and PostgreSQL refuses a time it never sees a
 * transaction end after ("recovery ended before configured recovery target was reached").
 */
export type DrillWindow = { from: Ms; to: Ms } | { none: string };

export function drillWindow(baseConsistentAt: readonly Ms[], lastTransactionAt: Ms | null): DrillWindow {
  if (baseConsistentAt.length === 0) return { none: "no trusted base backup on the target" };
  if (lastTransactionAt === null) return { none: "the archive holds no transaction after the oldest base backup" };
  const from = Math.min(...baseConsistentAt);
  if (lastTransactionAt <= from) return { none: `no transaction ended after the oldest base backup was consistent (${new Date(from).toISOString()})` };
  return { from, to: lastTransactionAt };
}

/** A moment in [from, to), whole milliseconds, from `random` in [0, 1): strictly before `to`, so a transaction ends after it. */
export function chooseMoment(window: { from: Ms; to: Ms }, random: () => number): Ms {
  const span = Math.floor(window.to) - Math.ceil(window.from);
  if (span <= 0) return Math.ceil(window.from);
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.ceil(window.from) + Math.floor(r * span);
}

/** One table's rows as counted in the restored cluster; null: the table is not there. */
export interface FoundCount {
  schema: string;
  table: string;
  rows: number | null;
}

export interface CountCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/**
 * The restore point's recorded row counts against the restored cluster's: one failed check
 * per table that differs or is missing, naming it; else one passed check.
 */
export function compareCounts(point: string, recorded: readonly TableCount[], found: readonly FoundCount[]): CountCheck[] {
  const key = (schema: string, table: string) => JSON.stringify([schema, table]);
  const there = new Map(found.map((f) => [key(f.schema, f.table), f.rows]));
  const failed: CountCheck[] = [];
  for (const r of recorded) {
    const rows = there.get(key(r.schema, r.table));
    const name = `${r.schema}.${r.table}`;
    if (rows === undefined || rows === null) failed.push({ check: `row count of ${name} at ${point}`, ok: false, detail: `${name} is not in the restored cluster; the backup recorded ${r.rows} rows` });
    else if (rows !== r.rows) failed.push({ check: `row count of ${name} at ${point}`, ok: false, detail: `${rows} rows restored, ${r.rows} recorded` });
  }
  if (failed.length > 0) return failed;
  return [{ check: `row counts at ${point}`, ok: true, detail: `${recorded.length} table(s), each with the rows recorded` }];
}

/** The RTO one drill proves: its slowest restore (a recovery may be asked for any moment), in ms. */
export function drillRto(restoresMs: readonly number[]): number | null {
  return restoresMs.length === 0 ? null : Math.max(...restoresMs);
}

/** A time as PostgreSQL writes it in its log ("2026-12-06 10:00:00.123456+00", ISO DateStyle), in ms; null when it is not one. */
export function pgTime(text: string): number | null {
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d)(?::?(\d\d))?/.exec(text);
  if (!m) return null;
  const ms = m[3] ? m[3].slice(0, 4).padEnd(4, "0") : "";
  const at = Date.parse(`${m[1]}T${m[2]}${ms}${m[4]}:${m[5] ?? "00"}`);
  return Number.isNaN(at) ? null : at;
}
