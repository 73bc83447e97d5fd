import { describe, expect, it } from "vitest";
import { missedSlot } from "../../src/policy/schedule.js";

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
