import { describe, expect, it, vi } from "vitest";
import { cronProblem } from "../../src/config/cron.js";
import { CronTimer } from "../../src/daemon/cron-timer.js";
import { missedSlot, nextSlot } from "../../src/policy/schedule.js";

const t = (iso: string) => Date.parse(iso);

describe("missed schedule slots (catch-up at daemon start)", () => {
  it.each([
    ["hourly, last run this hour", "0 * * * *", "2026-11-23T10:00:05Z", "2026-11-23T10:30:00Z", undefined],
    ["hourly, last run an hour and a half ago", "0 * * * *", "2026-11-23T09:00:05Z", "2026-11-23T10:30:00Z", "2026-11-23T10:00:00Z"],
    ["every 15 min, down for a day", "*/15 * * * *", "2026-11-22T10:00:00Z", "2026-11-23T10:07:00Z", "2026-11-23T10:00:00Z"],
    ["weekly Sunday 04:00, last run last Sunday", "0 4 * * 0", "2026-11-22T04:00:30Z", "2026-11-23T12:00:00Z", undefined],
    ["exactly on the slot counts as due", "0 * * * *", "2026-11-23T09:00:05Z", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"],
  ])("%s", (_name, expr, last, now, expected) => {
    expect(missedSlot(expr, "UTC", t(last), t(now))).toBe(expected === undefined ? undefined : t(expected));
  });

  it("a job that never ran is due at once", () => {
    expect(missedSlot("0 3 * * *", "UTC", undefined, t("2026-11-23T10:00:00Z"))).toBe(t("2026-11-23T03:00:00Z"));
  });

  it("uses the configured time zone", () => {
    // 03:00 in Berlin is 02:00 UTC in winter.
    expect(missedSlot("0 3 * * *", "Europe/Berlin", undefined, t("2026-11-23T10:00:00Z"))).toBe(t("2026-11-23T02:00:00Z"));
  });
});

describe("one reading of a schedule: firing, catch-up, next run and validation agree", () => {
  // [name, expression, time zone, from, the next slots in UTC]
  const table: [string, string, string, string, string[]][] = [
    // node-cron fired this only on a 1st that is a Monday; Vixie cron and drd: the 1st, and every Monday.
    ["both day fields: the 1st or a Monday", "0 3 1 * 1", "UTC", "2026-12-01T00:00:00Z", ["2026-12-01T03:00:00Z", "2026-12-07T03:00:00Z", "2026-12-14T03:00:00Z", "2026-12-21T03:00:00Z", "2026-12-28T03:00:00Z", "2027-01-01T03:00:00Z"]],
    ["spring forward: 02:30 does not exist, it runs an hour later that day", "30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", ["2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"]],
    ["fall back: 01:30 happens twice, it runs once", "30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]],
    ["hourly across fall back: every real hour", "0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]],
    ["@hourly", "@hourly", "UTC", "2026-12-01T00:10:00Z", ["2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z"]],
    ["@daily in Berlin", "@daily", "Europe/Berlin", "2026-12-01T12:00:00Z", ["2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z"]],
    ["@weekly: Sundays", "@weekly", "UTC", "2026-12-01T00:10:00Z", ["2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"]],
    ["six fields: every 10 seconds", "*/10 * * * * *", "UTC", "2026-12-01T00:00:00Z", ["2026-12-01T00:00:10Z", "2026-12-01T00:00:20Z", "2026-12-01T00:00:30Z"]],
  ];

  it.each(table)("%s: validated, next slots as listed, each caught up as missed", (_name, expr, tz, from, slots) => {
    expect(cronProblem(expr)).toBeUndefined();
    let at = t(from);
    for (const slot of slots) {
      at = nextSlot(expr, tz, at);
      expect(new Date(at).toISOString()).toBe(new Date(t(slot)).toISOString());
      // A daemon down since just before the slot runs exactly that slot at start.
      expect(missedSlot(expr, tz, at - 1, at)).toBe(at);
    }
  });

  it.each(table)("%s: the daemon's timer fires at exactly those slots", async (_name, expr, tz, from, slots) => {
    vi.useFakeTimers({ now: t(from) });
    try {
      const fired: string[] = [];
      const timer = new CronTimer(expr, tz, async () => void fired.push(new Date(Date.now()).toISOString()));
      expect(timer.next.toISOString()).toBe(new Date(t(slots[0]!)).toISOString());
      await vi.advanceTimersByTimeAsync(t(slots[slots.length - 1]!) - t(from));
      timer.stop();
      expect(fired).toEqual(slots.map((s) => new Date(t(s)).toISOString()));
    } finally {
      vi.useRealTimers();
    }
  });

  it("a slot that comes while the last run is still going is skipped: a job never overlaps itself", async () => {
    vi.useFakeTimers({ now: t("2026-12-01T00:00:00Z") });
    try {
      let started = 0;
      let finish: () => void = () => undefined;
      const timer = new CronTimer("* * * * *", "UTC", () => {
        started++;
        return new Promise<void>((r) => (finish = r));
      });
      await vi.advanceTimersByTimeAsync(3 * 60_000);
      expect(started).toBe(1);
      finish();
      await vi.advanceTimersByTimeAsync(60_000);
      timer.stop();
      expect(started).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
