import { describe, expect, it } from "vitest";
import { newBackupId } from "../../src/app/backup-id.js";
import { table, bytes } from "../../src/cli/render.js";
import { cronProblem } from "../../src/config/cron.js";
import { configDuration, formatDuration, parseDuration } from "../../src/config/duration.js";
import { safeFileName } from "../../src/sources/postgres.js";
import { assertSafeKey } from "../../src/targets/target.js";

describe("durations", () => {
  it.each([
    ["90s", 90], ["15m", 900], ["1h", 3600], ["30d", 2_592_000], ["2w", 1_209_600], [" 5m ", 300],
    ["0s", undefined], ["15", undefined], ["1.5h", undefined], ["-1h", undefined], ["1y", undefined], ["", undefined],
  ])("%j -> %j", (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each([[45, "45s"], [900, "15m"], [5400, "90m"], [7200, "2h"], [90_000, "25h"], [2_592_000, "30d"]])("formats %d as %s", (s, text) =>
    expect(formatDuration(s)).toBe(text),
  );
});

describe("cron expressions", () => {
  it.each([
    ["*/15 * * * *", undefined], ["0 4 * * 0", undefined], ["0 4 * * 7", undefined], ["0 0 1 */3 *", undefined], ["5,35 8-18 * * 1-5", undefined],
    ["*/60 * * * *", "step 60 is out of range"], ["0 */25 * * *", "step 25 is out of range"], ["*/0 * * * *", "step 0 is out of range"],
    ["0 0 * * 8", "Constraint error"], ["@hourly", undefined], ["@reboot", "unknown alias"], ["0 * * * * * *", "expected 5 fields"], ["0 0 30 2 *", "Invalid explicit day of month"],
  ])("%s", (expr, problem) => {
    if (problem === undefined) expect(cronProblem(expr)).toBeUndefined();
    else expect(cronProblem(expr)).toContain(problem);
  });
});

describe("backup ids", () => {
  it("sort by time, carry the job, and differ within one second", () => {
    const at = Date.UTC(2026, 10, 23, 1, 2, 3, 456);
    const a = newBackupId("database", at);
    expect(a).toMatch(/^database-20261123T010203Z-[0-9a-f]{4}$/);
    const many = new Set(Array.from({ length: 50 }, () => newBackupId("database", at)));
    expect(many.size).toBeGreaterThan(40);
    expect(newBackupId("database", at + 1000) > a.replace(/-[0-9a-f]{4}$/, "-ffff")).toBe(true);
  });
});

describe("names that become paths", () => {
  it.each([["app", "app"], ["my db", "my%20db"], ["../x", "%2E.%2Fx"], ["a/b", "a%2Fb"], ["ünï", "%C3%BCn%C3%AF"], ["100%", "100%25"], ["\u0129", "%C4%A9"]])(
    "database %j is stored as %j",
    (name, file) => expect(safeFileName(name)).toBe(file),
  );

  it("no two database names share a file name (each is read back from it)", () => {
    // Before: "\u0129" and "\u0012" + "9" both became "%129" (one hex digit too many or too few).
    const names = ["\u0129", "\u0012" + "9", "é", "%e9", "%C3%A9", "a b", "a%20b", ".x", "%2ex", "A", "a", "日本", "x.y", "x%2Ey"];
    const files = names.map(safeFileName);
    expect(new Set(files).size).toBe(names.length);
    for (const [i, f] of files.entries()) expect(Buffer.from(decodeURIComponent(f), "utf8").toString()).toBe(names[i]);
  });

  it.each(["a/b/c", "job/id/manifest.json"])("accepts key %j", (k) => expect(() => assertSafeKey(k)).not.toThrow());
  it.each(["", "/abs", "a/../b", "a//b", "./a", "a/"])("refuses key %j", (k) => expect(() => assertSafeKey(k)).toThrow(/unsafe object key/));
});

describe("rendering", () => {
  it("aligns columns", () => {
    expect(table(["ID", "SIZE"], [["a", "1 B"], ["long-id", "2 B"]])).toBe("ID       SIZE\na        1 B\nlong-id  2 B");
  });
  it.each([[0, "0 B"], [1023, "1023 B"], [1024, "1.0 KiB"], [5 * 1024 ** 3, "5.0 GiB"]])("bytes(%d) = %s", (n, s) => expect(bytes(n)).toBe(s));
});

describe("S3 part sizes", () => {
  const MiB = 1 << 20;
  const GiB = 1 << 30;
  it.each([
    ["unknown size", undefined, 8 * MiB],
    ["a small artifact", 100 * MiB, 8 * MiB],
    ["39 GiB still fits 8 MiB parts twice over", 39 * GiB, 8 * MiB],
    ["100 GiB", 100 * GiB, 21 * MiB],
    ["1 TiB", 1024 * GiB, 210 * MiB],
  ])("%s -> %d bytes per part", async (_name, expected, partSize) => {
    const { partSizeFor } = await import("../../src/targets/s3.js");
    expect(partSizeFor(expected)).toBe(partSize);
    // Twice the expected size always fits in S3's 10,000 parts.
    expect(((expected ?? 0) * 2) / partSizeFor(expected)).toBeLessThanOrEqual(10_000);
  });
});

describe("a duration as a config writes it", () => {
  it.each([
    [7 * 86_400, "7d"],
    [36 * 3600, "36h"],
    [90 * 60, "90m"],
    [3600, "1h"],
    [45, "45s"],
    [61, "61s"],
    [0, "0s"],
  ])("%i s is %s, and reads back", (s, text) => {
    expect(configDuration(s)).toBe(text);
    if (s > 0) expect(parseDuration(text)).toBe(s);
  });
});
