import { describe, expect, it } from "vitest";
import { historyName, parseHistory, parseHistoryName, pathTo, timelineOfSegment, timelinePath, type HistoryEntry } from "../../src/policy/timeline.js";
import { parseLsn } from "../../src/policy/wal.js";

const MiB16 = 16 << 20;
const h = (...lines: [number, string][]): HistoryEntry[] => lines.map(([parent, at]) => ({ parent, switchAt: parseLsn(at) }));

describe("history files", () => {
  it("reads PostgreSQL's lines, comments and blank lines aside", () => {
    const text = "1\t0/5000198\tno recovery target specified\n\n# a comment\n2\t0/9000000\tat restore point \"x\"\n";
    expect(parseHistory(text, 3)).toEqual(h([1, "0/5000198"], [2, "0/9000000"]));
    expect(parseHistory("", 1)).toEqual([]);
  });
  it.each([
    ["garbage", "not a timeline history line"],
    ["1\t0/5000000\n1\t0/6000000", "out of order"],
    ["2\t0/5000000\n1\t0/6000000", "out of order"],
    ["1\t0/6000000\n2\t0/5000000", "out of order"],
    ["3\t0/5000000", "out of order"],
  ])("refuses %j", (text, why) => expect(() => parseHistory(text, 3)).toThrow(why));
  it.each([
    [1, "00000001.history"],
    [10, "0000000A.history"],
    [255, "000000FF.history"],
  ])("timeline %i is %s (hex)", (tl, name) => {
    expect(historyName(tl)).toBe(name);
    expect(parseHistoryName(name)).toBe(tl);
  });
  it("no other name is one", () => expect(parseHistoryName("0000000a.history")).toBeUndefined());
});

describe("the path to a timeline", () => {
  it("lists the ancestors oldest first, each up to where its child branched off", () => {
    expect(pathTo(3, h([1, "0/5000000"], [2, "0/9000000"]))).toEqual([
      { timeline: 1, begin: 0n, end: parseLsn("0/5000000") },
      { timeline: 2, begin: parseLsn("0/5000000"), end: parseLsn("0/9000000") },
      { timeline: 3, begin: parseLsn("0/9000000"), end: undefined },
    ]);
  });

  // 2 and 3 branched off 1 (3 later, at 0/7000000), 4 off 2; 11 (0000000B) off 4.
  const histories = new Map<number, HistoryEntry[]>([
    [2, h([1, "0/5000000"])],
    [3, h([1, "0/7000000"])],
    [4, h([1, "0/5000000"], [2, "0/9000000"])],
    [11, h([1, "0/5000000"], [2, "0/9000000"], [4, "0/A000000"])],
  ]);
  const tl = (r: ReturnType<typeof timelinePath>) => (r.ok ? r.path.map((s) => s.timeline) : r.reason);
  it.each([
    ["a base on 1, latest: the highest descendant", { timeline: 1, end: parseLsn("0/3000000") }, "latest", [1, 2, 4, 11]],
    ["a base on 1, timeline 1", { timeline: 1, end: parseLsn("0/3000000") }, 1, [1]],
    ["a base on 1, timeline 3", { timeline: 1, end: parseLsn("0/3000000") }, 3, [1, 3]],
    ["a base on 1, timeline 4", { timeline: 1, end: parseLsn("0/3000000") }, 4, [1, 2, 4]],
    ["a base on 1 consistent after 2 branched off, latest: 3", { timeline: 1, end: parseLsn("0/6000000") }, "latest", [1, 3]],
    ["a base on 1 consistent after 2 branched off, timeline 2", { timeline: 1, end: parseLsn("0/6000000") }, 2, "timeline 2 branched off timeline 1 at 0/5000000, before 0/6000000"],
    ["a base on 1 consistent right at the switch", { timeline: 1, end: parseLsn("0/5000000") }, 2, [1, 2]],
    ["a base on 2, latest", { timeline: 2, end: parseLsn("0/6000000") }, "latest", [2, 4, 11]],
    ["a base on 2, timeline 3 (a sibling)", { timeline: 2, end: parseLsn("0/6000000") }, 3, "timeline 3 does not descend from timeline 2"],
    ["a base on 2, timeline 1 (an ancestor)", { timeline: 2, end: parseLsn("0/6000000") }, 1, "timeline 1 does not descend from timeline 2"],
    ["a base on 3, latest: itself", { timeline: 3, end: parseLsn("0/8000000") }, "latest", [3]],
    ["an absent timeline", { timeline: 1, end: parseLsn("0/3000000") }, 5, "timeline 5 has no history file in the archive"],
    ["a base on 5 without its history file, itself", { timeline: 5, end: parseLsn("0/3000000") }, 5, [5]],
  ] as const)("%s", (_, base, want, expected) => expect(tl(timelinePath(base, want, histories))).toEqual(expected));
});

describe("which timeline's file of each segment a replay reads", () => {
  // 1 to 0/5000198 (inside segment 5), 2 to 0/9000000 (a segment boundary), then 3.
  const path = pathTo(3, h([1, "0/5000198"], [2, "0/9000000"]));
  it.each([
    [0n, 1],
    [4n, 1],
    [5n, 2], // holds the switch point: the new timeline's copy has the old one's part too
    [8n, 2],
    [9n, 3], // the switch lies on its first byte
    [100n, 3],
  ])("segment %i: timeline %i", (n, expected) => expect(timelineOfSegment(path, n, MiB16)).toBe(expected));
  it("a path of one timeline reads it throughout", () => expect(timelineOfSegment(pathTo(2, []), 7n, MiB16)).toBe(2));
  it("a path that starts at the base's timeline (trimmed) reads it before the next began", () => {
    const trimmed = pathTo(3, h([1, "0/5000198"], [2, "0/9000000"])).slice(1);
    expect([6n, 9n].map((n) => timelineOfSegment(trimmed, n, MiB16))).toEqual([2, 3]);
  });
});
