import { describe, expect, it } from "vitest";
import { isCompleteWalFile, slotName, walPrefix } from "../../src/wal/layout.js";

describe("where a cluster job's WAL goes", () => {
  it.each([
    ["cluster", /^drd_cluster_[0-9a-f]{8}$/],
    ["Prod-DB.main", /^drd_prod_db_main_[0-9a-f]{8}$/],
    ["x".repeat(200), /^drd_x{50}_[0-9a-f]{8}$/],
  ])("job %s has a slot name PostgreSQL takes", (job, pattern) => {
    const slot = slotName(job);
    expect(slot).toMatch(pattern);
    expect(slot).toMatch(/^[a-z0-9_]{1,63}$/);
  });

  it("two jobs whose names map alike get two slots; one job always the same", () => {
    expect(slotName("app-1")).not.toBe(slotName("app_1"));
    expect(slotName("app-1")).toBe(slotName("app-1"));
  });

  it.each([
    ["000000010000000000000003", true],
    ["00000002.history", true],
    ["000000010000000000000003.partial", false],
    ["000000010000000000000003.00000028.backup", false],
    [".stage", false],
    ["00000001000000000000000a", false],
  ])("%s is a complete WAL file: %s", (name, complete) => {
    expect(isCompleteWalFile(name)).toBe(complete);
  });

  it("a job's WAL sits in its own wal/ folder, which no backup id can be", () => {
    expect(walPrefix("cluster")).toBe("cluster/wal/");
  });
});
