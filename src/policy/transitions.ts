/*
 * How an objective's recorded state moves when it is evaluated, and whom to tell: pure, so
 * the rules (a breach told once, again every renotify, its recovery once with how long it
 * lasted and the worst it got) are tested with tables and the catalog only stores.
 */

export interface ObjectiveRecord {
  state: string;
  since: number;
  /** The age (RPO) or duration (RTO) recorded; for an open breach, the worst it reached. */
  valueMs: number | null;
  /** When a breach was last told. */
  notifiedAt: number | null;
}

export type ObjectiveStep =
  /** The state holds: its value is kept up to date; `renotify` when an open breach is due to be told again. */
  | { kind: "holds"; renotify: boolean }
  /** The state changes: record it; tell of a breach that opens, or of one that closes. */
  | { kind: "changes"; tell: "breach" | "recovered" | null; lastedMs: number | null; worstMs: number | null };

export function nextTransition(current: ObjectiveRecord | undefined, observed: { state: string; valueMs: number | null }, now: number, renotifyMs: number): ObjectiveStep {
  if (current?.state === observed.state)
    return { kind: "holds", renotify: observed.state === "breach" && now - (current.notifiedAt ?? current.since) >= renotifyMs };
  if (observed.state === "breach") return { kind: "changes", tell: "breach", lastedMs: null, worstMs: observed.valueMs };
  if (current?.state === "breach" && observed.state === "ok")
    return { kind: "changes", tell: "recovered", lastedMs: now - current.since, worstMs: Math.max(current.valueMs ?? 0, observed.valueMs ?? 0) };
  return { kind: "changes", tell: null, lastedMs: null, worstMs: observed.valueMs };
}
