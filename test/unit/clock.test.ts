import { describe, expect, it, vi } from "vitest";
import { CronTimer } from "../../src/daemon/cron-timer.js";
import { DEFAULT_CLOCK_SKEW_ALLOWANCE_MS, isFutureDated, latestTrustedTime, type ClockView } from "../../src/policy/clock.js";
import { planRetention, type RetentionCandidate, type RetentionRules } from "../../src/policy/retention.js";
import { parseInstant } from "../../src/policy/instant.js";
import { nextDue, nextSlot } from "../../src/policy/schedule.js";

const DAY = 86_400_000;
const MIN = 60_000;
const NOW = Date.parse("2026-11-23T12:00:00Z");
const clockAt = (now: number): ClockView => ({ now, allowanceMs: DEFAULT_CLOCK_SKEW_ALLOWANCE_MS });

/** Daily backups b0 (newest, at `newest`) to b<count-1>. */
function daily(count: number, newest = NOW): RetentionCandidate[] {
  return Array.from({ length: count }, (_, i) => ({ id: `b${i}`, snapshotAt: newest - i * DAY, good: true }));
}
const kept = (c: RetentionCandidate[], rules: RetentionRules, clock?: ClockView) => planRetention(c, rules, "UTC", clock).filter((d) => d.keep).map((d) => d.id).sort();

describe("a time ahead of the clock", () => {
  it.each<[string, number, boolean]>([
    ["now", NOW, false],
    ["exactly the allowance ahead", NOW + 5 * MIN, false],
    ["one ms past the allowance", NOW + 5 * MIN + 1, true],
    ["a year ahead", NOW + 365 * DAY, true],
    ["in the past", NOW - DAY, false],
  ])("%s: future-dated %s", (_name, at, expected) => {
    expect(isFutureDated(at, clockAt(NOW))).toBe(expected);
    expect(at <= latestTrustedTime(clockAt(NOW))).toBe(!expected);
  });
});

describe("retention with a clock that stepped", () => {
  const year = { id: "ahead", snapshotAt: NOW + 365 * DAY, good: true };

  it.each<[string, RetentionRules, string[]]>([
    ["max_age 3d", { max_age: 3 * 86400 }, ["ahead", "b0", "b1", "b2", "b3"]],
    ["keep_last 2", { keep_last: 2 }, ["ahead", "b0", "b1"]],
    ["keep_daily 2", { keep_daily: 2 }, ["ahead", "b0", "b1"]],
  ])("one backup stamped a year ahead, %s: it is kept and the dated ones are judged as without it", (_name, rules, expected) => {
    expect(kept([year, ...daily(10)], rules, clockAt(NOW))).toEqual(expected.sort());
    expect(kept([year, ...daily(10)], rules, clockAt(NOW)).filter((id) => id !== "ahead")).toEqual(kept(daily(10), rules, clockAt(NOW)));
  });

  it("without the clock rule the year-ahead backup anchored max_age and every dated backup was removed", () => {
    expect(kept([year, ...daily(10)], { max_age: 30 * 86400 })).toEqual(["ahead"]);
    expect(kept([year, ...daily(10)], { max_age: 30 * 86400 }, clockAt(NOW))).toHaveLength(11);
  });

  it("says why the future-dated backup is kept", () => {
    const plan = planRetention([year, ...daily(3)], { keep_last: 1 }, "UTC", clockAt(NOW));
    expect(plan[0]).toMatchObject({ id: "ahead", keep: true, reasons: ["dated ahead of the clock (clock skew): kept until the clock passes it"] });
  });

  it.each<[string, RetentionRules]>([
    ["max_age 3d", { max_age: 3 * 86400 }],
    ["keep_last 3", { keep_last: 3 }],
    ["keep_daily 4", { keep_daily: 4 }],
    ["keep_weekly 1", { keep_weekly: 1 }],
  ])("a clock stepped back (1 h, 2 d, 1 y), %s: it removes nothing the right clock would keep", (_name, rules) => {
    const right = kept(daily(20), rules, clockAt(NOW));
    for (const back of [3_600_000, 2 * DAY, 365 * DAY]) {
      const stepped = kept(daily(20), rules, clockAt(NOW - back));
      expect(right.every((id) => stepped.includes(id))).toBe(true);
    }
  });
});

describe("a timer whose clock steps", () => {
  const every = "0 * * * *"; // hourly
  it.each<[string, number, number, number, number]>([
    ["the clock went on: due stays", NOW + 30 * MIN, NOW, NOW + MIN, NOW + 30 * MIN],
    ["past due: due stays (it fires)", NOW + 30 * MIN, NOW, NOW + 31 * MIN, NOW + 30 * MIN],
    ["stepped back 3 h: the next slot after the new now", NOW + 30 * MIN, NOW, NOW - 3 * 3_600_000 + MIN, nextSlot(every, "UTC", NOW - 3 * 3_600_000 + MIN)],
    ["stepped back a minute: due stays, it is still the next slot", Date.parse("2026-11-23T13:00:00Z"), NOW + 10 * MIN, NOW + 9 * MIN, Date.parse("2026-11-23T13:00:00Z")],
  ])("%s", (_name, due, before, now, expected) => {
    expect(nextDue(every, "UTC", due, before, now)).toBe(expected);
  });

  it("a clock stepped back an hour: the daemon's timer fires at the next slot of the new time, not an hour later", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-11-23T12:59:00Z") });
    try {
      const fired: string[] = [];
      const timer = new CronTimer("*/10 * * * *", "UTC", async () => void fired.push(new Date(Date.now()).toISOString()));
      expect(timer.next.toISOString()).toBe("2026-11-23T13:00:00.000Z");
      vi.setSystemTime(Date.parse("2026-11-23T11:59:00Z"));
      await vi.advanceTimersByTimeAsync(12 * MIN);
      timer.stop();
      expect(fired).toEqual(["2026-11-23T12:00:00.000Z", "2026-11-23T12:10:00.000Z"]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("--at: the instant an operator means", () => {
  it.each<[string, string, string | undefined, boolean]>([
    ["2026-11-23T10:00:00Z", "Europe/Berlin", "2026-11-23T10:00:00.000Z", false],
    ["2026-11-23T10:00:00+02:00", "UTC", "2026-11-23T08:00:00.000Z", false],
    ["2026-11-23 10:00", "Europe/Berlin", "2026-11-23T09:00:00.000Z", true],
    ["2026-07-01T10:00", "Europe/Berlin", "2026-07-01T08:00:00.000Z", true],
    ["2026-11-23T10:00", "UTC", "2026-11-23T10:00:00.000Z", true],
    ["2026-11-01T01:30", "America/New_York", "2026-11-01T06:30:00.000Z", true],
    ["2026-03-29T02:30", "Europe/Berlin", "2026-03-29T01:30:00.000Z", true],
    ["yesterday", "UTC", undefined, false],
    ["2026-13-01", "UTC", undefined, false],
  ])("%s in %s", (text, tz, iso, inZone) => {
    const r = parseInstant(text, tz);
    expect(r && new Date(r.at).toISOString()).toBe(iso);
    if (r) expect(r.inZone).toBe(inZone);
  });
});
