import { describe, expect, it } from "vitest";
import { rpoVerdict, rtoVerdict, stateIntervals, windowFigures, type DrillFact } from "../../src/policy/objectives.js";

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const NOW = Date.parse("2026-12-01T12:00:00Z");

describe("rpo state", () => {
  it.each([
    ["no backup, never tried", undefined, undefined, "never", null],
    ["no good backup, tried 10 min ago (RPO 15 min)", undefined, NOW - 10 * M, "never", 10 * M],
    ["no good backup, tried 16 min ago", undefined, NOW - 16 * M, "breach", 16 * M],
    ["good backup 5 min old", NOW - 5 * M, NOW - D, "ok", 5 * M],
    ["good backup exactly at the RPO", NOW - 15 * M, NOW - D, "ok", 15 * M],
    ["good backup one ms past the RPO", NOW - 15 * M - 1, NOW - D, "breach", 15 * M + 1],
    ["good backup from a clock ahead of this one", NOW + 5000, NOW - D, "ok", 0],
  ])("%s", (_name, lastGood, firstRun, state, age) => {
    expect(rpoVerdict({ now: NOW, rpoMs: 15 * M, lastGoodSnapshotAt: lastGood, firstRunAt: firstRun })).toEqual({ state, ageMs: age });
  });
});

describe("rto state", () => {
  const drill = (agoMs: number, ok: boolean, durationMs = 5 * M, rtoProven = true): DrillFact => ({ at: NOW - agoMs, ok, rtoProven, durationMs });
  it.each<[string, DrillFact[], number | null, string]>([
    ["no drill", [], H, "untested"],
    ["a good drill yesterday, 5 min against 1 h", [drill(D, true)], H, "ok"],
    ["a good drill, slower than the RTO", [drill(D, true, 2 * H)], H, "breach"],
    ["the newest drill failed, an older one was good", [drill(D, true), drill(H, false)], H, "breach"],
    ["a failed drill, then a good one", [drill(H, true), drill(D, false)], H, "ok"],
    ["the last good drill is older than max_age (8 d)", [drill(9 * D, true)], H, "breach"],
    ["exactly max_age old", [drill(8 * D, true)], H, "ok"],
    ["integrity-only drills: nothing proved a restore", [drill(D, true, 10_000, false)], H, "untested"],
    ["integrity-only newest, a real one before", [drill(H, true, 1000, false), drill(D, true)], H, "ok"],
    ["no RTO declared: judged by outcome and age", [drill(D, true, 10 * H)], null, "ok"],
  ])("%s", (_name, drills, rtoMs, state) => {
    expect(rtoVerdict({ now: NOW, rtoMs, maxAgeMs: 8 * D, drills }).state).toBe(state);
  });

  it("the measured RTO is the newest drill that proved a restore", () => {
    const v = rtoVerdict({ now: NOW, rtoMs: H, maxAgeMs: 8 * D, drills: [drill(2 * D, true, 7 * M), drill(D, true, 3 * M), drill(H, true, 1, false)] });
    expect(v.proven?.durationMs).toBe(3 * M);
  });
});

describe("window figures of an objective", () => {
  const from = NOW - 10 * H;
  it.each([
    ["no transitions", [], { share_ok: null, breaches: 0, longest_breach_ms: 0, measured_ms: 0, never_ms: 0 }],
    ["ok all along (since before the window)", [{ at: from - H, to: "ok" }], { share_ok: 1, breaches: 0, longest_breach_ms: 0, measured_ms: 10 * H, never_ms: 0 }],
    ["one 2 h breach", [{ at: from - H, to: "ok" }, { at: from + H, to: "breach" }, { at: from + 3 * H, to: "ok" }], { share_ok: 0.8, breaches: 1, longest_breach_ms: 2 * H, measured_ms: 10 * H, never_ms: 0 }],
    ["a breach open when the window began, clipped", [{ at: from - 5 * H, to: "breach" }, { at: from + H, to: "ok" }], { share_ok: 0.9, breaches: 1, longest_breach_ms: H, measured_ms: 10 * H, never_ms: 0 }],
    ["an open breach counts up to now", [{ at: from - H, to: "ok" }, { at: NOW - 4 * H, to: "breach" }], { share_ok: 0.6, breaches: 1, longest_breach_ms: 4 * H, measured_ms: 10 * H, never_ms: 0 }],
    ["two breaches, the longest wins", [{ at: from, to: "ok" }, { at: from + H, to: "breach" }, { at: from + 2 * H, to: "ok" }, { at: from + 4 * H, to: "breach" }, { at: from + 7 * H, to: "ok" }], { share_ok: 0.6, breaches: 2, longest_breach_ms: 3 * H, measured_ms: 10 * H, never_ms: 0 }],
    ["evaluated only since half-way: only that half counts", [{ at: from + 5 * H, to: "ok" }], { share_ok: 1, breaches: 0, longest_breach_ms: 0, measured_ms: 5 * H, never_ms: 0 }],
    ["never counts as not ok", [{ at: from, to: "never" }, { at: from + 5 * H, to: "ok" }], { share_ok: 0.5, breaches: 0, longest_breach_ms: 0, measured_ms: 10 * H, never_ms: 5 * H }],
  ])("%s", (_name, transitions, expected) => {
    expect(windowFigures(transitions, from, NOW)).toEqual(expected);
  });
});

describe("state intervals over a window (the report's breaches)", () => {
  const from = NOW - D;
  const t = (agoMs: number, to: string) => ({ at: NOW - agoMs, to });
  it.each<[string, { at: number; to: string }[], { state: string; from: number; to: number; open: boolean }[]]>([
    ["no transition: nothing known", [], []],
    ["ok all along, from before the window", [t(2 * D, "ok")], [{ state: "ok", from, to: NOW, open: true }]],
    [
      "a breach inside the window, then recovery",
      [t(2 * D, "ok"), t(10 * H, "breach"), t(9 * H, "ok")],
      [
        { state: "ok", from, to: NOW - 10 * H, open: false },
        { state: "breach", from: NOW - 10 * H, to: NOW - 9 * H, open: false },
        { state: "ok", from: NOW - 9 * H, to: NOW, open: true },
      ],
    ],
    [
      "a breach open since before the window starts at the window",
      [t(2 * D, "breach"), t(H, "ok")],
      [
        { state: "breach", from, to: NOW - H, open: false },
        { state: "ok", from: NOW - H, to: NOW, open: true },
      ],
    ],
    ["a breach still open at the end", [t(3 * H, "ok"), t(H, "breach")], [{ state: "ok", from: NOW - 3 * H, to: NOW - H, open: false }, { state: "breach", from: NOW - H, to: NOW, open: true }]],
    ["two transitions to the same state are one interval", [t(3 * H, "breach"), t(2 * H, "breach")], [{ state: "breach", from: NOW - 3 * H, to: NOW, open: true }]],
    ["a transition after the window's end is left out", [t(3 * H, "ok"), { at: NOW + H, to: "breach" }], [{ state: "ok", from: NOW - 3 * H, to: NOW, open: true }]],
    ["a change exactly at the end closes what was open", [t(3 * H, "ok"), t(0, "breach")], [{ state: "ok", from: NOW - 3 * H, to: NOW, open: false }]],
    ["any order", [t(H, "ok"), t(3 * H, "breach")], [{ state: "breach", from: NOW - 3 * H, to: NOW - H, open: false }, { state: "ok", from: NOW - H, to: NOW, open: true }]],
  ])("%s", (_name, transitions, expected) => {
    expect(stateIntervals(transitions, from, NOW)).toEqual(expected);
  });
});
