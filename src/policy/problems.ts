/*
 * A job whose runs keep failing is one open problem, not a stream of pages: told once when
 * it opens, again every `renotify` while it lasts, and once when a run succeeds again. A
 * database down for 100 s on a 10-second schedule is one alert, not ten.
 */

export interface OpenProblem {
  since: number;
  /** Failed runs since it opened. */
  failures: number;
  /** When someone was last told. */
  notifiedAt: number;
  lastError: string;
}

export type FailureStep = { problem: OpenProblem; tell: "opened" | "still" | null };

/** After a failed run: the problem opened or updated, and whether to tell. */
export function afterFailure(open: OpenProblem | undefined, now: number, error: string, renotifyMs: number): FailureStep {
  if (!open) return { problem: { since: now, failures: 1, notifiedAt: now, lastError: error }, tell: "opened" };
  const failures = open.failures + 1;
  if (now - open.notifiedAt >= renotifyMs) return { problem: { ...open, failures, notifiedAt: now, lastError: error }, tell: "still" };
  return { problem: { ...open, failures, lastError: error }, tell: null };
}

/** After a good run: the problem it closes, if one was open (tell its recovery). */
export function afterSuccess(open: OpenProblem | undefined, now: number): { closed: { lastedMs: number; failures: number } } | undefined {
  return open ? { closed: { lastedMs: Math.max(0, now - open.since), failures: open.failures } } : undefined;
}
