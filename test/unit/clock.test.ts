import { describe, expect, it, vi } from "vitest";
import { CronTimer } from "../../src/daemon/cron-timer.js";
import { clockInDoubt, clockStep, DEFAULT_CLOCK_SKEW_ALLOWANCE_MS, isFutureDated, latestTrustedTime, type ClockView } from "../../src/policy/clock.js";
import { planRetention, type RetentionCandidate, type RetentionRules } from "../../src/policy/retention.js";
import { parseInstant } from "../../src/policy/instant.js";
import { nextDue, nextSlot } from "../../src/policy/schedule.js";
import { policyVerdict } from "../../src/policy/three-two-one.js";

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
    ["2026-11-23T10:00:00+0200", "Europe/Berlin", "2026-11-23T08:00:00.000Z", false],
    ["2026-11-23T10:00-05", "Europe/Berlin", "2026-11-23T15:00:00.000Z", false],
    ["  2026-11-23 10:00  ", "Europe/Berlin", "2026-11-23T09:00:00.000Z", true],
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

describe("retention reads its input in any order", () => {
  const shuffled = (c: RetentionCandidate[]) => [...c].reverse().sort((a, b) => (a.id.length - b.id.length) || (a.id < b.id ? -1 : 1));
  it.each<[string, RetentionRules]>([
    ["keep_last 3", { keep_last: 3 }],
    ["keep_daily 2", { keep_daily: 2 }],
    ["max_age 2d", { max_age: 2 * 86400 }],
  ])("%s: the same plan, newest first, whatever order the backups come in", (_name, rules) => {
    const plan = planRetention(shuffled(daily(8)), rules, "UTC", clockAt(NOW));
    expect(plan.map((d) => d.id)).toEqual(["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"]);
    expect(plan.filter((d) => d.keep).map((d) => d.id)).toEqual(kept(daily(8), rules, clockAt(NOW)));
  });

  it("backups with one snapshot time are ordered by id, the greater first", () => {
    const same = ["a", "c", "b"].map((id) => ({ id, snapshotAt: NOW, good: true }));
    expect(planRetention(same, { keep_last: 1 }).map((d) => [d.id, d.keep])).toEqual([["c", true], ["b", false], ["a", false]]);
    expect(planRetention(same, { keep_last: 1 })[0]!.reasons).toEqual(["newest backup that meets the policy", "keep_last 1"]);
  });

  it("several backups ahead of the clock come first, newest first", () => {
    const ahead = [2, 5, 3].map((d) => ({ id: `f${d}`, snapshotAt: NOW + d * DAY, good: true }));
    expect(planRetention([...ahead, ...daily(2)], { keep_last: 1 }, "UTC", clockAt(NOW)).map((d) => d.id)).toEqual(["f5", "f3", "f2", "b0", "b1"]);
  });

  it("more buckets asked for than backups exist: each backup once, with its bucket as the reason", () => {
    const plan = planRetention(daily(3), { keep_daily: 10 });
    expect(plan.map((d) => d.reasons.at(-1))).toEqual(["daily 2026-11-23", "daily 2026-11-22", "daily 2026-11-21"]);
  });

  it("with no good backup yet, everything is kept, and says so", () => {
    const plan = planRetention(daily(2).map((c) => ({ ...c, good: false })), { keep_last: 1 });
    expect(plan.map((d) => d.reasons)).toEqual([["no backup meets the policy yet"], ["no backup meets the policy yet"]]);
  });
});

describe("the 3-2-1 verdict from the config's targets", () => {
  const setting = { targets: { local: { media: "disk", offsite: false }, offsite: { media: "cloud", offsite: true } }, policy: { copies: 2, media: 2, offsite: 1 } };
  it.each<[string, { target: string; state: string }[], boolean, string[]]>([
    ["local and offsite verified", [{ target: "local", state: "verified" }, { target: "offsite", state: "verified" }], true, []],
    ["offsite pending", [{ target: "local", state: "verified" }, { target: "offsite", state: "pending" }], false, ["1 of 2 verified copies", "1 of 2 media kinds", "0 of 1 offsite copies"]],
    ["a target no longer in the config counts as its own medium, not offsite", [{ target: "local", state: "verified" }, { target: "gone", state: "verified" }], false, ["0 of 1 offsite copies"]],
  ])("%s", (_name, copies, ok, missing) => {
    const v = policyVerdict(setting, copies);
    expect([v.ok, v.missing]).toEqual([ok, missing]);
  });
});

describe("a wall clock that steps, seen against the monotonic clock", () => {
  const anchor = { wall: NOW, mono: 1_000 };
  it.each<[string, { wall: number; mono: number }, number, boolean]>([
    ["time passed, the clock with it", { wall: NOW + 60_000, mono: 61_000 }, 0, false],
    ["a small drift within the allowance", { wall: NOW + 60_000 + 5 * MIN, mono: 61_000 }, 5 * MIN, false],
    ["stepped a year forward", { wall: NOW + 365 * DAY + 60_000, mono: 61_000 }, 365 * DAY, true],
    ["stepped an hour back", { wall: NOW - 3_600_000 + 60_000, mono: 61_000 }, -3_600_000, true],
  ])("%s", (_name, now, step, doubt) => {
    expect(clockStep(anchor, now)).toBe(step);
    expect(clockInDoubt(step, DEFAULT_CLOCK_SKEW_ALLOWANCE_MS)).toBe(doubt);
  });
});
