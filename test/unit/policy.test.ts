import { describe, expect, it } from "vitest";
import { evaluateCopies } from "../../src/policy/three-two-one.js";

const disk = (state = "verified") => ({ state, media: "disk", offsite: false });
const cloud = (state = "verified") => ({ state, media: "cloud", offsite: true });
const policy = { copies: 2, media: 2, offsite: 1 };

describe("3-2-1 evaluation", () => {
  it.each([
    ["local and offsite, both verified", [disk(), cloud()], true, []],
    ["offsite still pending", [disk(), cloud("pending")], false, ["1 of 2 verified copies", "1 of 2 media kinds", "0 of 1 offsite copies"]],
    ["offsite corrupt", [disk(), cloud("corrupt")], false, ["1 of 2 verified copies", "1 of 2 media kinds", "0 of 1 offsite copies"]],
    ["two disks, no cloud", [disk(), { ...disk(), media: "disk" }], false, ["1 of 2 media kinds", "0 of 1 offsite copies"]],
    ["two copies, one media, one offsite disk", [disk(), { state: "verified", media: "disk", offsite: true }], false, ["1 of 2 media kinds"]],
    ["written but not re-read", [disk("written"), cloud("written")], false, ["0 of 2 verified copies", "0 of 2 media kinds", "0 of 1 offsite copies"]],
    ["no copies at all", [], false, ["0 of 2 verified copies", "0 of 2 media kinds", "0 of 1 offsite copies"]],
    ["three copies over two media", [disk(), disk(), cloud()], true, []],
  ])("%s", (_name, copies, ok, missing) => {
    const verdict = evaluateCopies(copies, policy);
    expect(verdict.ok).toBe(ok);
    expect(verdict.missing).toEqual(missing);
  });

  it("a single-copy policy is met by one verified local copy", () => {
    expect(evaluateCopies([disk()], { copies: 1, media: 1, offsite: 0 }).ok).toBe(true);
  });
});
