import { describe, expect, it } from "vitest";
import { afterFailure, afterSuccess, type OpenProblem } from "../../src/policy/problems.js";
import { nextTransition, type ObjectiveRecord, type ObjectiveStep } from "../../src/policy/transitions.js";

const H = 3_600_000;
const T0 = Date.parse("2026-12-01T00:00:00Z");
const RENOTIFY = 4 * H;
const rec = (state: string, since: number, valueMs: number | null, notifiedAt: number | null = null): ObjectiveRecord => ({ state, since, valueMs, notifiedAt });

describe("an objective's next transition", () => {
  it.each<[string, ObjectiveRecord | undefined, { state: string; valueMs: number | null }, number, ObjectiveStep]>([
    ["first evaluation, ok", undefined, { state: "ok", valueMs: 60_000 }, T0, { kind: "changes", tell: null, lastedMs: null, worstMs: 60_000 }],
    ["first evaluation, never", undefined, { state: "never", valueMs: null }, T0, { kind: "changes", tell: null, lastedMs: null, worstMs: null }],
    ["first evaluation, already in breach: told", undefined, { state: "breach", valueMs: 2 * H }, T0, { kind: "changes", tell: "breach", lastedMs: null, worstMs: 2 * H }],
    ["ok to breach: told", rec("ok", T0, 1_000), { state: "breach", valueMs: H }, T0 + H, { kind: "changes", tell: "breach", lastedMs: null, worstMs: H }],
    ["never to breach: told", rec("never", T0, null), { state: "breach", valueMs: H }, T0 + H, { kind: "changes", tell: "breach", lastedMs: null, worstMs: H }],
    ["breach holds, 1 ms short of renotify", rec("breach", T0, H, T0), { state: "breach", valueMs: 2 * H }, T0 + RENOTIFY - 1, { kind: "holds", renotify: false }],
    ["breach holds, renotify reached exactly", rec("breach", T0, H, T0), { state: "breach", valueMs: 2 * H }, T0 + RENOTIFY, { kind: "holds", renotify: true }],
    ["breach holds, counted from the last notification", rec("breach", T0, H, T0 + RENOTIFY), { state: "breach", valueMs: 2 * H }, T0 + RENOTIFY + H, { kind: "holds", renotify: false }],
    ["breach never notified: counted from its start", rec("breach", T0, H, null), { state: "breach", valueMs: 2 * H }, T0 + RENOTIFY, { kind: "holds", renotify: true }],
    ["ok holds: nothing told", rec("ok", T0, 1_000), { state: "ok", valueMs: 2_000 }, T0 + 10 * RENOTIFY, { kind: "holds", renotify: false }],
    ["breach to ok: recovery told with how long and the worst", rec("breach", T0, 3 * H, T0), { state: "ok", valueMs: 60_000 }, T0 + 2 * H, { kind: "changes", tell: "recovered", lastedMs: 2 * H, worstMs: 3 * H }],
    ["breach to ok, the last value the worst", rec("breach", T0, H, T0), { state: "ok", valueMs: 5 * H }, T0 + 2 * H, { kind: "changes", tell: "recovered", lastedMs: 2 * H, worstMs: 5 * H }],
    ["breach to untested: no recovery", rec("breach", T0, H, T0), { state: "untested", valueMs: null }, T0 + H, { kind: "changes", tell: null, lastedMs: null, worstMs: null }],
  ])("%s", (_name, current, observed, now, expected) => {
    expect(nextTransition(current, observed, now, RENOTIFY)).toEqual(expected);
  });
});

describe("a job whose runs keep failing", () => {
  const open = (failures: number, notifiedAt: number): OpenProblem => ({ since: T0, failures, notifiedAt, lastError: "e" });

  it.each<[string, OpenProblem | undefined, number, ReturnType<typeof afterFailure>]>([
    ["the first failure opens it and is told", undefined, T0, { problem: { since: T0, failures: 1, notifiedAt: T0, lastError: "boom" }, tell: "opened" }],
    ["another failure before renotify: counted, not told", open(3, T0), T0 + RENOTIFY - 1, { problem: { since: T0, failures: 4, notifiedAt: T0, lastError: "boom" }, tell: null }],
    ["a failure at renotify: told again", open(3, T0), T0 + RENOTIFY, { problem: { since: T0, failures: 4, notifiedAt: T0 + RENOTIFY, lastError: "boom" }, tell: "still" }],
  ])("%s", (_name, current, now, expected) => {
    expect(afterFailure(current, now, "boom", RENOTIFY)).toEqual(expected);
  });

  it("a good run closes an open problem with how long it lasted and how many runs failed; with none open, nothing", () => {
    expect(afterSuccess(open(11, T0), T0 + 2 * H)).toEqual({ closed: { lastedMs: 2 * H, failures: 11 } });
    expect(afterSuccess(undefined, T0)).toBeUndefined();
  });
});
