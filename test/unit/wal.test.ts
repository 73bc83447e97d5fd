import { describe, expect, it } from "vitest";
import { chainEnd, checkSegmentSize, durableEnd, prunableWal, formatLsn, missingSegments, parseLsn, parseSegmentName, segmentName, segmentOf, segmentsBetween, walLagMs } from "../../src/policy/wal.js";

const MiB16 = 16 << 20;

describe("LSNs", () => {
  it.each([
    ["0/0", 0n],
    ["0/3000028", 0x3000028n],
    ["1/0", 1n << 32n],
    ["16/B374D848", (0x16n << 32n) | 0xb374d848n],
    ["FFFFFFFF/FFFFFFFF", (1n << 64n) - 1n],
  ])("%s", (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(formatLsn(value)).toBe(text);
  });

  it.each(["", "0", "0/", "/0", "0/3000028 ", "x/1", "123456789/0", "0/123456789", "0:1"])("refuses %j", (text) => {
    if (text === "0/3000028 ") expect(parseLsn(text)).toBe(0x3000028n);
    else expect(() => parseLsn(text)).toThrow(/not an LSN/);
  });
});

describe("segment names", () => {
  it.each([
    [1, "0/3000028", MiB16, "000000010000000000000003"],
    [1, "0/FF000000", MiB16, "0000000100000000000000FF"],
    [1, "1/0", MiB16, "000000010000000100000000"],
    [2, "1/FFFFFF", MiB16, "000000020000000100000000"],
    [10, "A/1000000", MiB16, "0000000A0000000A00000001"],
    [1, "1/40000000", 1 << 30, "000000010000000100000001"],
    [1, "0/100000", 1 << 20, "000000010000000000000001"],
  ])("timeline %i, %s, %i-byte segments: %s", (timeline, lsn, size, name) => {
    const s = segmentOf(timeline, parseLsn(lsn), size);
    expect(segmentName(s, size)).toBe(name);
    expect(parseSegmentName(name, size)).toEqual(s);
  });

  it.each([
    ["00000001000000000000000", "too short"],
    ["000000010000000000000003.partial", "a partial segment"],
    ["00000002.history", "a history file"],
    ["000000010000000000000003.00000028.backup", "a backup label"],
    ["0000000100000000000001000", "too long"],
    ["000000010000000000000100", "a seg number past the log's last (16 MiB: 255)"],
    ["00000001000000000000000a", "lower case"],
    ["x000000010000000000000003", "a name with more before it"],
  ])("%s is no segment (%s)", (name) => {
    expect(parseSegmentName(name, MiB16)).toBeUndefined();
  });

  it.each([0, 1000, 3 << 20, 2 ** 31, 1 << 19, 1.5])("%d is no segment size", (size) => {
    expect(() => checkSegmentSize(size)).toThrow(`${size} is not a WAL segment size (a power of two from 1 MiB to 1 GiB)`);
  });
  it.each([1 << 20, MiB16, 1 << 30])("%i is one", (size) => expect(checkSegmentSize(size)).toBe(size));
});

describe("what a range of WAL needs", () => {
  it.each([
    ["one segment", "0/2000028", "0/2000138", ["000000010000000000000002"]],
    ["an empty range at a position", "0/2000028", "0/2000028", ["000000010000000000000002"]],
    ["an empty range at a segment's first byte", "0/3000000", "0/3000000", ["000000010000000000000003"]],
    ["across a boundary", "0/2FFFF00", "0/3000100", ["000000010000000000000002", "000000010000000000000003"]],
    ["ending exactly on a boundary: not the next", "0/2000028", "0/3000000", ["000000010000000000000002"]],
    ["across a log", "0/FF000000", "1/1000000", ["0000000100000000000000FF", "000000010000000100000000"]],
  ])("%s", (_what, start, end, names) => {
    expect(segmentsBetween(1, parseLsn(start), parseLsn(end), MiB16)).toEqual(names);
  });

  it("refuses a range that ends before it starts", () => {
    expect(() => segmentsBetween(1, parseLsn("0/3000000"), parseLsn("0/2000000"), MiB16)).toThrow(/ends \(0\/2000000\) before it starts \(0\/3000000\)/);
  });

  it("names the missing segments in order", () => {
    const needed = segmentsBetween(1, parseLsn("0/1000000"), parseLsn("0/5000000"), MiB16);
    expect(missingSegments(needed, new Set(["000000010000000000000001", "000000010000000000000003"]))).toEqual(["000000010000000000000002", "000000010000000000000004"]);
    expect(missingSegments(needed, new Set(needed))).toEqual([]);
  });
});

describe("the RPO of a WAL archive: the age of the oldest write not yet durable", () => {
  const S = 1000;
  const samples = [
    { at: 0, lsn: 100n },
    { at: 10 * S, lsn: 200n },
    { at: 20 * S, lsn: 300n },
    { at: 30 * S, lsn: 300n },
  ];
  it.each([
    ["caught up", 300n, 0],
    ["ahead of every sample", 400n, 0],
    ["the last write not yet durable: counted from the sample before it", 250n, 35 * S],
    ["two samples behind", 150n, 45 * S],
    ["behind every sample: from the oldest kept", 50n, 45 * S],
    ["exactly at a sample", 200n, 35 * S],
  ])("%s", (_what, durable, lag) => {
    expect(walLagMs(samples, durable, 45 * S)).toBe(lag);
  });

  it("an idle server that is caught up has no lag, however old its last write", () => {
    expect(walLagMs([{ at: 0, lsn: 500n }], 500n, 10 * 3600 * S)).toBe(0);
  });

  it("takes the samples in any order", () => {
    expect(walLagMs([...samples].reverse(), 250n, 45 * S)).toBe(35 * S);
  });

  it("no samples, no known write: no lag", () => {
    expect(walLagMs([], 0n, 45 * S)).toBe(0);
  });
});

describe("how far an archive restores a base backup", () => {
  const archived = (entries: [number, number][]) => new Map(entries.map(([n, at]) => [BigInt(n), at]));
  it.each([
    ["a chain from the start past the end", 3, 4, [[3, 10], [4, 20], [5, 30]], { last: 5n, at: 30 }],
    ["exactly through the end", 3, 4, [[3, 10], [4, 20]], { last: 4n, at: 20 }],
    ["a gap after the end: up to the gap", 3, 3, [[3, 10], [4, 20], [6, 40]], { last: 4n, at: 20 }],
    ["archived out of order: the latest time of the chain", 3, 3, [[3, 50], [4, 20]], { last: 4n, at: 50 }],
    ["a gap before the end: no restorable point", 3, 5, [[3, 10], [4, 20], [6, 40]], undefined],
    ["the start missing", 3, 3, [[4, 20]], undefined],
    ["nothing archived", 3, 3, [], undefined],
  ] as const)("%s", (_what, first, consistent, entries, expected) => {
    expect(chainEnd(BigInt(first), BigInt(consistent), archived(entries as unknown as [number, number][]))).toEqual(expected);
  });
});

describe("how far the archive is durable, with partial copies of the open segment", () => {
  const end = (n: number) => BigInt(n) * BigInt(MiB16);
  it.each([
    ["no targets' copies: the chain's end", 4, [undefined, undefined], end(5)],
    ["a copy on every target of the next segment: the least of them", 4, [{ number: 5n, covered: 4096 }, { number: 5n, covered: 1024 }], end(5) + 1024n],
    ["a copy on one target only: the chain's end", 4, [{ number: 5n, covered: 4096 }, undefined], end(5)],
    ["a copy of a segment the chain already holds: the chain's end", 4, [{ number: 4n, covered: 4096 }, { number: 4n, covered: 4096 }], end(5)],
    ["a copy beyond a gap: the chain's end", 4, [{ number: 6n, covered: 4096 }, { number: 6n, covered: 4096 }], end(5)],
    ["a copy that says it holds more than a segment: one segment", 4, [{ number: 5n, covered: MiB16 * 2 }], end(6)],
    ["one target", 0, [{ number: 1n, covered: 100 }], end(1) + 100n],
    ["no targets at all: the chain's end", 0, [], end(1)],
  ] as const)("%s", (_, last, partials, expected) => {
    expect(durableEnd(BigInt(last), MiB16, partials)).toBe(expected);
  });
});

describe("which WAL a target drops: everything of the segments before its oldest kept base backup", () => {
  const seg = (n: number, tl = 1) => segmentName({ timeline: tl, number: BigInt(n) }, MiB16);
  const stored = (n: number, tl = 1) => [`${seg(n, tl)}.zst`, `${seg(n, tl)}.json`, `${seg(n, tl)}.json.sig`];
  it("drops the three objects of each older segment, records first, and keeps the rest", () => {
    const names = [...stored(3), ...stored(4), ...stored(5)];
    expect(prunableWal(names, 5n, MiB16)).toEqual([`${seg(3)}.json`, `${seg(4)}.json`, `${seg(3)}.zst`, `${seg(3)}.json.sig`, `${seg(4)}.zst`, `${seg(4)}.json.sig`]);
  });
  it.each([
    ["nothing before the first kept", [...stored(5), ...stored(6)], 5n, []],
    ["an uncompressed segment (no extension)", [seg(2), `${seg(2)}.json`], 3n, [`${seg(2)}.json`, seg(2)]],
    ["a partial copy of an older segment, with its record", [`${seg(2)}.00001000.partial.zst`, `${seg(2)}.00001000.partial.json`], 3n, [`${seg(2)}.00001000.partial.json`, `${seg(2)}.00001000.partial.zst`]],
    ["a partial copy of the first kept segment stays", [`${seg(3)}.00001000.partial.zst`], 3n, []],
    ["timeline history files stay", ["00000002.history.zst", "00000002.history.json"], 9n, []],
    ["an older segment of an earlier timeline goes, a later-numbered one stays", [`${seg(2, 1)}.zst`, `${seg(7, 1)}.zst`], 5n, [`${seg(2, 1)}.zst`]],
    ["a name that only begins like a segment stays", [`${seg(2)}x.zst`, `${seg(2).slice(0, 23)}.zst`], 9n, []],
  ] as const)("%s", (_, names, keepFrom, expected) => {
    expect(prunableWal(names, keepFrom, MiB16)).toEqual(expected);
  });
});
