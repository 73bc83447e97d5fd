import { describe, expect, it } from "vitest";
import { human } from "../../src/app/human.js";
import { table, wrapWords } from "../../src/cli/render.js";

describe("tables on a terminal", () => {
  const rows = [
    ["local", "db-1", "would keep", "newest backup that meets the policy; keep_last 20"],
    ["offsite", "db-2", "would remove", ""],
  ];

  it("in a pipe (no width) every row is one line, whatever its length", () => {
    const text = table(["TARGET", "BACKUP", "ACTION", "REASONS"], rows);
    expect(text.split("\n")).toEqual([
      "TARGET   BACKUP  ACTION        REASONS",
      "local    db-1    would keep    newest backup that meets the policy; keep_last 20",
      "offsite  db-2    would remove",
    ]);
  });

  it("a row too wide wraps its last column under itself while 30 columns are left for it", () => {
    const text = table(["TARGET", "BACKUP", "ACTION", "REASONS"], rows, 62);
    expect(text.split("\n")).toEqual([
      "TARGET   BACKUP  ACTION        REASONS",
      "local    db-1    would keep    newest backup that meets the",
      "                               policy; keep_last 20",
      "offsite  db-2    would remove",
    ]);
    expect(Math.max(...text.split("\n").map((l) => l.length))).toBeLessThanOrEqual(62);
  });

  it("with less than 30 columns left, the last column goes on lines of its own, indented 4", () => {
    const text = table(["TARGET", "BACKUP", "ACTION", "REASONS"], rows, 40);
    expect(text.split("\n")).toEqual([
      "TARGET   BACKUP  ACTION        REASONS",
      "local    db-1    would keep",
      "    newest backup that meets the policy;",
      "    keep_last 20",
      "offsite  db-2    would remove",
    ]);
  });

  it.each([
    ["a b c", 3, ["a b", "c"]],
    ["averylongword b", 5, ["averylongword", "b"]],
    ["", 10, [""]],
    ["  spaced   out  ", 20, ["spaced out"]],
  ])("wrapWords(%j, %i)", (text, width, lines) => {
    expect(wrapWords(text, width)).toEqual(lines);
  });
});

describe("durations for people", () => {
  it.each([
    [0, "0 ms"],
    [30, "30 ms"],
    [94, "94 ms"],
    [95, "0.1 s"],
    [4_249, "4.2 s"],
    [37_000, "37 s"],
    [12 * 60_000, "12 min"],
    [3.5 * 3_600_000, "3.5 h"],
    [2 * 86_400_000, "2.0 d"],
  ])("%i ms is %s", (ms, text) => {
    expect(human(ms)).toBe(text);
  });
});
