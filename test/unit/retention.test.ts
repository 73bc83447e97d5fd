import { describe, expect, it } from "vitest";
import { bucketOf, EmptyRetentionError, pitrWindowKeeps, planRetention, type RetentionCandidate, type RetentionRules } from "../../src/policy/retention.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.parse("2026-11-23T12:00:00Z");

/** One backup every `stepMs`, newest at `newest`, ids b0 (newest), b1, ... */
function series(count: number, stepMs: number, newest = NOW, good: (i: number) => boolean = () => true): RetentionCandidate[] {
  return Array.from({ length: count }, (_, i) => ({ id: `b${i}`, snapshotAt: newest - i * stepMs, good: good(i) }));
}

function kept(candidates: RetentionCandidate[], rules: RetentionRules, tz = "UTC"): string[] {
  return planRetention(candidates, rules, tz).filter((d) => d.keep).map((d) => d.id);
}

describe("retention planning", () => {
  it.each<[string, RetentionCandidate[], RetentionRules, string[]]>([
    ["keep_last 3 of 10", series(10, DAY), { keep_last: 3 }, ["b0", "b1", "b2"]],
    ["keep_last larger than what exists", series(2, DAY), { keep_last: 5 }, ["b0", "b1"]],
    ["max_age 3d with daily backups", series(10, DAY), { max_age: 3 * 86400 }, ["b0", "b1", "b2", "b3"]],
    ["keep_daily 3 with 4 backups a day (newest at 12:00)", series(16, 6 * HOUR), { keep_daily: 3 }, ["b0", "b3", "b7"]],
    ["keep_hourly 2 with backups every 15 min", series(12, HOUR / 4), { keep_hourly: 2 }, ["b0", "b1"]],
    ["keep_weekly 2 over 3 weeks of dailies", series(21, DAY), { keep_weekly: 2 }, ["b0", "b1"]],
    ["keep_monthly 2 over 90 days", series(90, DAY), { keep_monthly: 2 }, ["b0", "b23"]],
    ["keep_yearly 2 over 800 days", series(800, DAY), { keep_yearly: 2 }, ["b0", "b327"]],
    ["rules are ORed", series(10, DAY), { keep_last: 1, max_age: 2 * 86400 }, ["b0", "b1", "b2"]],
  ])("%s", (_name, candidates, rules, expected) => {
    expect(kept(candidates, rules)).toEqual(expected);
  });

  it("backups that stopped 60 days ago: max_age counts from the newest good backup, so nothing ages out", () => {
    const stalled = series(30, DAY, NOW - 60 * DAY);
    expect(kept(stalled, { max_age: 30 * 86400 })).toHaveLength(30);
    const reasons = planRetention(stalled, { max_age: 30 * 86400 })[29]!.reasons;
    expect(reasons).toEqual(["within max_age of the newest good backup"]);
  });

  it("backups that stopped 60 days ago: keep_daily still keeps the newest days that exist", () => {
    expect(kept(series(10, DAY, NOW - 60 * DAY), { keep_daily: 3 })).toEqual(["b0", "b1", "b2"]);
  });

  it("never removes the newest backup that meets the policy, nor anything newer", () => {
    // The three newest are not replicated yet (offsite down): they and b3 stay whatever the rules say.
    const candidates = series(10, DAY, NOW, (i) => i >= 3);
    const plan = planRetention(candidates, { keep_last: 1 });
    expect(plan.filter((d) => d.keep).map((d) => d.id)).toEqual(["b0", "b1", "b2", "b3"]);
    expect(plan[3]!.reasons).toContain("newest backup that meets the policy");
    expect(plan[1]!.reasons).toContain("newer than the newest backup that meets the policy");
  });

  it("keeps everything while no backup meets the policy", () => {
    expect(kept(series(5, DAY, NOW, () => false), { keep_last: 1 })).toHaveLength(5);
  });

  it("refuses an empty policy", () => {
    expect(() => planRetention(series(3, DAY), {})).toThrow(EmptyRetentionError);
    expect(() => planRetention(series(3, DAY), { keep_last: undefined })).toThrow(EmptyRetentionError);
  });

  it("gives every removed backup a reason", () => {
    const plan = planRetention(series(5, DAY), { keep_last: 2 });
    expect(plan.map((d) => [d.id, d.keep, d.reasons.join("; ")])).toEqual([
      ["b0", true, "newest backup that meets the policy; keep_last 2"],
      ["b1", true, "keep_last 2"],
      ["b2", false, "no rule keeps it"],
      ["b3", false, "no rule keeps it"],
      ["b4", false, "no rule keeps it"],
    ]);
  });

  it("plans 100,000 backups quickly", () => {
    const many = series(100_000, 15 * 60_000);
    const t0 = performance.now();
    const plan = planRetention(many, { max_age: 30 * 86400, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(plan.filter((d) => d.keep).length).toBeLessThan(3000);
  });
});

describe("calendar buckets", () => {
  it.each([
    ["2026-11-23T10:30:00Z", "hourly", "UTC", "2026-11-23T10"],
    ["2026-11-23T23:30:00Z", "daily", "UTC", "2026-11-23"],
    ["2026-11-23T23:30:00Z", "daily", "Europe/Berlin", "2026-11-24"],
    ["2026-11-23T03:30:00Z", "daily", "America/New_York", "2026-11-22"],
    ["2026-12-31T12:00:00Z", "weekly", "UTC", "2026-W53"],
    ["2027-01-01T12:00:00Z", "weekly", "UTC", "2026-W53"],
    ["2027-01-04T12:00:00Z", "weekly", "UTC", "2027-W01"],
    ["2024-12-30T12:00:00Z", "weekly", "UTC", "2025-W01"],
    ["2026-11-23T12:00:00Z", "monthly", "UTC", "2026-11"],
    ["2026-12-31T23:30:00Z", "yearly", "Asia/Tokyo", "2027"],
  ] as const)("%s %s in %s is %s", (iso, granularity, tz, bucket) => {
    expect(bucketOf(Date.parse(iso), granularity, tz)).toBe(bucket);
  });
});

describe("calendar buckets in UTC", () => {
  it("the fast path for UTC gives the buckets Intl gives for Etc/UTC, across years, leap days and week 53", () => {
    const start = Date.parse("2015-12-25T00:00:00Z");
    for (let i = 0; i < 3000; i++) {
      const ms = start + i * 3_700_000 * 7; // every ~26 h, drifting through the hours
      for (const g of ["hourly", "daily", "weekly", "monthly", "yearly"] as const) {
        expect(bucketOf(ms, g, "UTC")).toBe(bucketOf(ms, g, "Etc/UTC"));
      }
    }
  });
});

describe("a PITR window keeps the base backups it needs", () => {
  const H = 3600_000;
  const now = 100 * H;
  const bases = [
    { id: "b1", consistentAt: now - 50 * H },
    { id: "b2", consistentAt: now - 30 * H },
    { id: "b3", consistentAt: now - 20 * H },
    { id: "b4", consistentAt: now - 2 * H },
  ];
  it.each([
    ["a window of 24 h: those in it, and the newest before it", 24, { b3: "within", b4: "within", b2: "begins after" }],
    ["a window of 1 h: none in it, the newest before it", 1, { b4: "begins after" }],
    ["a window longer than every backup: all in it", 60, { b1: "within", b2: "within", b3: "within", b4: "within" }],
    ["a window that begins exactly at one: it is in it, and the one before too", 20, { b3: "within", b4: "within", b2: "begins after" }],
  ] as const)("%s", (_, hours, expected) => {
    const keeps = pitrWindowKeeps(bases, hours * H, now, `${hours}h`);
    expect(Object.fromEntries([...keeps].map(([id, why]) => [id, why.startsWith("within") ? "within" : why.includes("begins after") ? "begins after" : why]))).toEqual(expected);
    for (const why of keeps.values()) expect(why).toContain(`pitr_window ${hours}h`);
  });
  it("keeps nothing without base backups", () => {
    expect(pitrWindowKeeps([], H, now, "1h").size).toBe(0);
  });
});
