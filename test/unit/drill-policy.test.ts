import { describe, expect, it } from "vitest";
import { chooseMoment, compareCounts, drillRto, drillWindow, pgTime } from "../../src/policy/drill.js";
import { restorePointName } from "../../src/sources/cluster.js";

const T = Date.parse("2026-12-06T10:00:00.000Z");

describe("the window a cluster drill picks its random moment in", () => {
  it.each([
    ["from the oldest base backup to the last transaction", [T + 5000, T, T + 9000], T + 60_000, { from: T, to: T + 60_000 }],
    ["no base backup", [], T, { none: "no trusted base backup on the target" }],
    ["no transaction replayed", [T], null, { none: "the archive holds no transaction after the oldest base backup" }],
    ["the last transaction before the oldest base backup was consistent", [T], T - 1, { none: "no transaction ended after the oldest base backup was consistent (2026-12-06T10:00:00.000Z)" }],
    ["the last transaction at that very moment", [T], T, { none: "no transaction ended after the oldest base backup was consistent (2026-12-06T10:00:00.000Z)" }],
  ])("%s", (_name, bases, last, window) => {
    expect(drillWindow(bases, last)).toEqual(window);
  });
});

describe("a random moment of the window", () => {
  const window = { from: T, to: T + 10_000 };
  it.each([
    ["the random source's 0 is the window's start", 0, T],
    ["its middle", 0.5, T + 5000],
    ["its top is still before the end (a transaction ends after the moment)", 0.999999999, T + 9999],
    ["a source out of range is held to [0, 1)", 7, T + 9999],
    ["a negative one too", -1, T],
  ])("%s", (_name, r, at) => {
    expect(chooseMoment(window, () => r)).toBe(at);
  });

  it("always lies in [from, to) in whole milliseconds, over many draws", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const odd = { from: T + 0.4, to: T + 1234.7 };
    for (let i = 0; i < 1000; i++) {
      const at = chooseMoment(odd, random);
      expect(Number.isInteger(at)).toBe(true);
      expect(at).toBeGreaterThanOrEqual(odd.from);
      expect(at).toBeLessThan(odd.to);
    }
  });
});

describe("row counts at a restore point against the restored cluster", () => {
  const recorded = [
    { schema: "public", table: "ledger", rows: 1200 },
    { schema: "app", table: "hosts", rows: 3 },
  ];
  it("every table with its rows: one passed check", () => {
    expect(compareCounts("restore point p", recorded, [{ schema: "app", table: "hosts", rows: 3 }, { schema: "public", table: "ledger", rows: 1200 }, { schema: "public", table: "extra", rows: 5 }])).toEqual([
      { check: "row counts at restore point p", ok: true, detail: "2 table(s), each with the rows recorded" },
    ]);
  });
  it("a table with other rows, or missing, is a failed check naming it", () => {
    expect(compareCounts("restore point p", recorded, [{ schema: "public", table: "ledger", rows: 1201 }, { schema: "app", table: "hosts", rows: null }])).toEqual([
      { check: "row count of public.ledger at restore point p", ok: false, detail: "1201 rows restored, 1200 recorded" },
      { check: "row count of app.hosts at restore point p", ok: false, detail: "app.hosts is not in the restored cluster; the backup recorded 3 rows" },
    ]);
    expect(compareCounts("p", recorded, [])).toHaveLength(2);
  });
  it("names that only look alike are told apart (schema and table are kept apart)", () => {
    expect(compareCounts("p", [{ schema: "a.b", table: "c", rows: 1 }], [{ schema: "a", table: "b.c", rows: 1 }])[0]!.ok).toBe(false);
  });
  it("a restore point that counted no tables passes", () => {
    expect(compareCounts("p", [], [])).toEqual([{ check: "row counts at p", ok: true, detail: "0 table(s), each with the rows recorded" }]);
  });
});

describe("small parts of cluster drills", () => {
  it("the RTO of a drill is its slowest restore", () => {
    expect(drillRto([4000, 9000, 5000])).toBe(9000);
    expect(drillRto([])).toBeNull();
  });
  it.each([
    ["2026-12-06 10:00:00.123456+00", Date.parse("2026-12-06T10:00:00.123Z")],
    ["recovery stopping before commit of transaction 741, time 2026-12-06 11:30:00.5+01", Date.parse("2026-12-06T10:30:00.500Z")],
    ["2026-12-06 15:30:00+05:30", Date.parse("2026-12-06T10:00:00.000Z")],
    ["not a time", null],
  ])("reads PostgreSQL's log time %s", (text, at) => {
    expect(pgTime(text)).toBe(at);
  });
  it("restore point names stay within PostgreSQL's 63 characters and keep the backup id's unique end", () => {
    expect(restorePointName("cluster-20261206T100000Z-ab12")).toBe("drd_cluster-20261206T100000Z-ab12");
    const long = `${"j".repeat(63)}-20261206T100000Z-ab12`;
    expect(restorePointName(long)).toHaveLength(63);
    expect(restorePointName(long).endsWith("-20261206T100000Z-ab12")).toBe(true);
  });
});
