import { describe, expect, it } from "vitest";
import { describeTarget, parseRecoveryTarget, parseTimeline } from "../../src/app/restore/cluster.js";

describe("--at of a cluster job", () => {
  it.each([
    [undefined, "latest"],
    ["latest", "latest"],
    ["0/3000028", "LSN 0/3000028"],
    ["2026-12-06T10:00:00Z", "2026-12-06T10:00:00.000Z"],
    ["2026-12-06", "2026-12-06T00:00:00.000Z"],
    ["before_x", "restore point before_x"],
    ["_nightly.2026-12-06", "restore point _nightly.2026-12-06"],
    ["March", "restore point March"],
    ["ABC", "restore point ABC"],
  ])("%j is %s", (text, described) => expect(describeTarget(parseRecoveryTarget(text))).toBe(described));

  it.each(["", "2026-13-45", "has space", "quote'd", "9abc", "x".repeat(64)])("%j is refused (exit 2)", (text) => {
    expect(() => parseRecoveryTarget(text)).toThrow(/^--at: give latest, a time .*, an LSN .* or a restore point's name/);
    expect(() => parseRecoveryTarget(text)).toThrowError(expect.objectContaining({ exitCode: 2 }));
  });
});

describe("--timeline", () => {
  it.each([
    [undefined, undefined],
    ["latest", undefined],
    ["1", 1],
    ["10", 10],
    ["4294967295", 4294967295],
  ])("%j is %s", (text, n) => expect(parseTimeline(text)).toBe(n));
  it.each(["0", "A", "0x2", "-1", "1.5", "4294967296", ""])("%j is refused (exit 2)", (text) =>
    expect(() => parseTimeline(text)).toThrowError(expect.objectContaining({ exitCode: 2, message: `--timeline: give a timeline id in decimal (1, 2, ...) or latest, not ${JSON.stringify(text)}` })),
  );
});
