/*
 * The history of a job's RPO age, kept as the points where the newest good backup changed,
 * so a report can draw the age at any moment of a window after the backups themselves were
 * pruned. Pure, table-tested.
 */

/** From `at` on, the newest good backup (or restorable moment) was taken at `snapshotAt`; null: none was left. */
export interface RpoPoint {
  at: number;
  snapshotAt: number | null;
}

/**
 * Whether the evaluation at `now` records a new point. A cluster job's newest moment moves
 * every few seconds; recording each would grow without end, so a newer snapshot is recorded
 * only once the age it replaces reached a tenth of the RPO. The history then overstates the
 * age by at most RPO/10, never understates it.
 */
export function recordsPoint(last: RpoPoint | undefined, snapshotAt: number | null, now: number, rpoMs: number): boolean {
  if (!last) return snapshotAt !== null;
  if (last.snapshotAt === null || snapshotAt === null) return last.snapshotAt !== snapshotAt;
  // An older one than recorded: the newest was lost (found corrupt, pruned); the age grew at once.
  if (snapshotAt < last.snapshotAt) return true;
  if (snapshotAt === last.snapshotAt) return false;
  return now - last.snapshotAt >= rpoMs / 10;
}

/** One vertex of the age chart: at `at`, the newest good backup was `ageMs` old (null: none yet). */
export interface AgeSample {
  at: number;
  ageMs: number | null;
}

/**
 * The age over [from, to] as the vertices of a sawtooth: it grows with the clock and drops
 * where a newer backup became good. `points` in any order; the last one at or before `from`
 * gives the age the window starts with.
 */
export function ageSeries(points: readonly RpoPoint[], from: number, to: number): AgeSample[] {
  const sorted = [...points].filter((p) => p.at <= to).sort((a, b) => a.at - b.at);
  let current: RpoPoint | undefined;
  for (const p of sorted) if (p.at <= from) current = p;
  const age = (at: number) => (current && current.snapshotAt !== null ? Math.max(0, at - current.snapshotAt) : null);
  const out: AgeSample[] = [{ at: from, ageMs: age(from) }];
  for (const p of sorted) {
    if (p.at <= from) continue;
    out.push({ at: p.at, ageMs: age(p.at) });
    current = p;
    out.push({ at: p.at, ageMs: age(p.at) });
  }
  out.push({ at: to, ageMs: age(to) });
  return out;
}
