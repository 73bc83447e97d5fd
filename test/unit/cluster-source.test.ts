import { describe, expect, it } from "vitest";
import { segmentBytes, walRangeOf } from "../../src/sources/cluster.js";

describe("what a base backup states of itself", () => {
  const tail = (ranges: string) => `{ "Path": "global/pg_control", "Size": 8192 }\n],\n"WAL-Ranges": [\n${ranges}\n],\n"Manifest-Checksum": "ab"}\n`;

  it("reads the WAL range from the end of pg_basebackup's backup_manifest", () => {
    expect(walRangeOf(tail(`{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }`))).toEqual({ timeline: 1, start: 0x2000028n, end: 0x2000100n });
    expect(walRangeOf(tail(`{ "Timeline": 7, "Start-LSN": "1A/FF000028", "End-LSN": "1B/100" }`))).toEqual({ timeline: 7, start: (0x1an << 32n) | 0xff000028n, end: (0x1bn << 32n) | 0x100n });
  });

  it.each([
    ["no WAL-Ranges", `{"Files": []}`, /states no WAL range/],
    ["two ranges (a timeline switch)", tail(`{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/3000000" },\n{ "Timeline": 2, "Start-LSN": "0/3000000", "End-LSN": "0/3000100" }`), /states 2 WAL ranges/],
    ["an empty list", tail(""), /states 0 WAL ranges/],
    ["a bad LSN", tail(`{ "Timeline": 1, "Start-LSN": "zz", "End-LSN": "0/1" }`), /not an LSN/],
  ])("refuses %s", (_what, text, error) => {
    expect(() => walRangeOf(text)).toThrow(error);
  });

  it.each([
    ["16MB", 16 << 20],
    ["1GB", 1 << 30],
    ["1024kB", 1 << 20],
    ["16777216", 16 << 20],
  ])("wal_segment_size %s is %i bytes", (setting, bytes) => {
    expect(segmentBytes(setting)).toBe(bytes);
  });

  it("refuses a wal_segment_size that is no size", () => {
    expect(() => segmentBytes("sixteen")).toThrow(/not a size/);
  });
});
