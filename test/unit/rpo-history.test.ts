import { describe, expect, it } from "vitest";
import { ageSeries, recordsPoint, type RpoPoint } from "../../src/policy/rpo-history.js";

const S = 1000;
const M = 60 * S;
const NOW = Date.parse("2026-12-01T12:00:00Z");

describe("which evaluation records a point of the RPO history", () => {
  const rpo = 10 * M;
  const last: RpoPoint = { at: NOW - 5 * M, snapshotAt: NOW - 6 * M };
  it.each<[string, RpoPoint | undefined, number | null, boolean]>([
    ["the first good backup", undefined, NOW - M, true],
    ["still none, and none recorded", undefined, null, false],
    ["the same newest backup", last, last.snapshotAt, false],
    ["a newer one once the age it replaces reached RPO/10 (6 min >= 1 min)", last, NOW - 30 * S, true],
    ["a newer one while the age it replaces is under RPO/10", { at: NOW - 20 * S, snapshotAt: NOW - 50 * S }, NOW - 10 * S, false],
    ["exactly RPO/10", { at: NOW - 20 * S, snapshotAt: NOW - M }, NOW - 10 * S, true],
    ["an older one: the newest was lost, the age jumped", last, NOW - 20 * M, true],
    ["none left: every good backup lost", last, null, true],
    ["a good one again after none", { at: NOW - M, snapshotAt: null }, NOW - 10 * S, true],
  ])("%s", (_name, previous, snapshotAt, expected) => {
    expect(recordsPoint(previous, snapshotAt, NOW, rpo)).toBe(expected);
  });
});

describe("the age over a window (the report's sawtooth)", () => {
  const from = NOW - 60 * M;
  it("with no point: unknown throughout", () => {
    expect(ageSeries([], from, NOW)).toEqual([
      { at: from, ageMs: null },
      { at: NOW, ageMs: null },
    ]);
  });
  it("the point before the window gives the age it starts with; each later one drops it", () => {
    const points: RpoPoint[] = [
      { at: NOW - 10 * M, snapshotAt: NOW - 11 * M },
      { at: NOW - 90 * M, snapshotAt: NOW - 95 * M },
      { at: NOW - 120 * M, snapshotAt: NOW - 125 * M },
    ];
    expect(ageSeries(points, from, NOW)).toEqual([
      { at: from, ageMs: 35 * M },
      { at: NOW - 10 * M, ageMs: 85 * M },
      { at: NOW - 10 * M, ageMs: M },
      { at: NOW, ageMs: 11 * M },
    ]);
  });
  it("before the first point and while none is left: null; points after the window's end are left out", () => {
    const points: RpoPoint[] = [
      { at: NOW - 30 * M, snapshotAt: NOW - 31 * M },
      { at: NOW - 20 * M, snapshotAt: null },
      { at: NOW + M, snapshotAt: NOW },
    ];
    expect(ageSeries(points, from, NOW)).toEqual([
      { at: from, ageMs: null },
      { at: NOW - 30 * M, ageMs: null },
      { at: NOW - 30 * M, ageMs: M },
      { at: NOW - 20 * M, ageMs: 11 * M },
      { at: NOW - 20 * M, ageMs: null },
      { at: NOW, ageMs: null },
    ]);
  });
});
