import { describe, expect, it } from "vitest";
import { isCompleteWalFile, OPEN_SEGMENT, parsePartialName, partialName, slotName, spoolDir, WAL_RECORD_FORMAT, walPrefix, walRecordSchema } from "../../src/wal/layout.js";

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
    ["x000000010000000000000003", false],
  ])("%s is a complete WAL file: %s", (name, complete) => {
    expect(isCompleteWalFile(name)).toBe(complete);
  });

  it("a job's WAL sits in its own wal/ folder, which no backup id can be", () => {
    expect(walPrefix("cluster")).toBe("cluster/wal/");
  });
});

describe("a WAL file's record", () => {
  const record = {
    format: "drd-wal-1",
    job: "cluster",
    name: "000000010000000000000003",
    object: { name: "000000010000000000000003.zst", size: 1200, sha256: "a".repeat(64) },
    content: { size: 16 << 20, sha256: "b".repeat(64) },
    compression: "zstd",
    encryption: null,
    system_identifier: "7716126588573187974",
    stored_at: "2026-12-06T10:00:00.000Z",
  };
  it("reads a record drd writes, with each compression and encryption drd uses", () => {
    expect(WAL_RECORD_FORMAT).toBe("drd-wal-1");
    expect(walRecordSchema.parse(record)).toEqual(record);
    for (const compression of ["zstd", "gzip", "none"])
      for (const encryption of ["public-key", "passphrase", null]) expect(walRecordSchema.safeParse({ ...record, compression, encryption }).success).toBe(true);
  });
  it("reads the record of a partial copy of the open segment", () => {
    const partial = { ...record, name: "000000010000000000000003.00001000.partial" };
    expect(walRecordSchema.parse(partial)).toEqual(partial);
  });
  it.each([
    ["another format", { format: "drd-wal-2" }],
    ["a name that is no WAL file", { name: "../etc/passwd" }],
    ["pg_receivewal's open segment", { name: "000000010000000000000003.partial" }],
    ["a partial copy's name with more after it", { name: "000000010000000000000003.00001000.partialx" }],
    ["a short sha256", { object: { ...record.object, sha256: "abc" } }],
    ["a sha256 with more after it", { object: { ...record.object, sha256: `${"a".repeat(64)}x` } }],
    ["a sha256 with more before it", { content: { ...record.content, sha256: `x${"b".repeat(64)}` } }],
    ["a content sha256 with more after it", { content: { ...record.content, sha256: `${"b".repeat(64)}x` } }],
    ["an object sha256 with more before it", { object: { ...record.object, sha256: `x${"a".repeat(64)}` } }],
    ["an unknown compression", { compression: "" }],
    ["an unknown encryption", { encryption: "" }],
    ["a negative size", { content: { ...record.content, size: -1 } }],
    ["a system identifier that is no number", { system_identifier: "x" }],
    ["a system identifier with more after it", { system_identifier: "123x" }],
    ["a system identifier with more before it", { system_identifier: "x123" }],
    ["a time that is no time", { stored_at: "yesterday" }],
  ])("refuses %s", (_what, change) => {
    expect(walRecordSchema.safeParse({ ...record, ...change }).success).toBe(false);
  });
  it("keeps the spool in the state dir, a folder per job", () => {
    expect(spoolDir("/var/lib/drd", "cluster")).toBe("/var/lib/drd/wal/cluster");
  });
});


describe("partial copies of the open segment", () => {
  it("are named by the segment and how many bytes they hold, and read back", () => {
    expect(partialName("000000010000000000000005", 0x1234)).toBe("000000010000000000000005.00001234.partial");
    expect(parsePartialName("000000010000000000000005.00001234.partial")).toEqual({ segment: "000000010000000000000005", covered: 0x1234 });
    expect(parsePartialName(partialName("0000000200000001000000FF", 16 << 20))).toEqual({ segment: "0000000200000001000000FF", covered: 16 << 20 });
  });
  it.each(["000000010000000000000005", "000000010000000000000005.partial", "000000010000000000000005.1234.partial", "00000001000000000000000g.00001234.partial", "000000010000000000000005.00001234.partial.json", ""])(
    "%j is not a partial copy's name",
    (name) => expect(parsePartialName(name)).toBeUndefined(),
  );
  it("are not complete WAL files, and their records are WAL records", () => {
    expect(isCompleteWalFile(partialName("000000010000000000000005", 1))).toBe(false);
    expect(OPEN_SEGMENT.exec("000000010000000000000005.partial")?.[1]).toBe("000000010000000000000005");
    expect(OPEN_SEGMENT.test("000000010000000000000005")).toBe(false);
  });
});
