import { describe, expect, it } from "vitest";
import { parsePushArgs } from "../../src/cli/wal-push.js";
import { defaultWalSocket, formatPushHeader, parsePushHeader, pushedKind } from "../../src/wal/push-protocol.js";
import { segmentHeaderProblem } from "../../src/wal/segment-header.js";

const SEG = 16 << 20;
const SYSID = "7350000000000000001";

/** The first 40 bytes of a segment as PostgreSQL writes them. */
function header(o: { info?: number; timeline?: number; pageAddress?: bigint; sysid?: bigint; segSize?: number } = {}): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt16LE(0xd110, 0);
  b.writeUInt16LE(o.info ?? 0x0002, 2);
  b.writeUInt32LE(o.timeline ?? 1, 4);
  b.writeBigUInt64LE(o.pageAddress ?? 3n * BigInt(SEG), 8);
  b.writeBigUInt64LE(o.sysid ?? BigInt(SYSID), 24);
  b.writeUInt32LE(o.segSize ?? SEG, 32);
  b.writeUInt32LE(8192, 36);
  return b;
}

describe("the WAL hand-off header", () => {
  it("round-trips, and refuses what is not one", () => {
    const line = formatPushHeader({ job: "main", name: "000000010000000000000003", size: SEG });
    expect(line.endsWith("\n")).toBe(true);
    expect(parsePushHeader(line.trimEnd())).toEqual({ job: "main", name: "000000010000000000000003", size: SEG });
    expect(parsePushHeader("GET / HTTP/1.1")).toEqual({ error: "not a drd-wal-push 1 header" });
    expect(parsePushHeader("drd-wal-push 1 {nope")).toEqual({ error: "the header is not JSON" });
    expect(parsePushHeader('drd-wal-push 1 {"job":"main","name":"x","size":-1}')).toEqual({ error: "the header lacks job, name or size" });
    expect(parsePushHeader('drd-wal-push 1 {"job":"main","name":"x","size":1.5}')).toEqual({ error: "the header lacks job, name or size" });
    expect(parsePushHeader('drd-wal-push 1 {"job":"main","size":1}')).toEqual({ error: "the header lacks job, name or size" });
  });

  it.each([
    ["000000010000000000000003", "segment"],
    ["00000002.history", "history"],
    ["000000010000000000000003.00000028.backup", "ignored"],
    ["000000010000000000000003.partial", "ignored"],
    ["000000010000000000000003.zst", undefined],
    ["../../etc/passwd", undefined],
    ["00000002.history.bak", undefined],
    ["0000000100000000000000g3", undefined],
  ])("%s is a %s", (name, kind) => expect(pushedKind(name)).toBe(kind));

  it("has a socket per job under /run/drd/wal by default", () => expect(defaultWalSocket("main")).toBe("/run/drd/wal/main.sock"));
});

describe("drctl wal push's arguments", () => {
  it.each([
    [["main", "pg_wal/000000010000000000000003"], { job: "main", path: "pg_wal/000000010000000000000003" }],
    [["main", "p", "--socket", "/s.sock"], { job: "main", path: "p", socket: "/s.sock" }],
    [["main", "p", "--socket=/s.sock", "--timeout", "30"], { job: "main", path: "p", socket: "/s.sock", timeoutSeconds: 30 }],
    [["main"], { usage: "usage: drctl wal push JOB PATH [--socket PATH] [--timeout SECONDS]" }],
    [["main", "p", "extra"], { usage: "usage: drctl wal push JOB PATH [--socket PATH] [--timeout SECONDS]" }],
    [["main", "p", "--verbose"], { usage: "unknown option --verbose" }],
    [["main", "p", "--timeout", "0"], { usage: "--timeout takes a number of seconds" }],
    [["main", "p", "--timeout", "soon"], { usage: "--timeout takes a number of seconds" }],
  ])("%j", (args, parsed) => expect(parsePushArgs(args)).toEqual(parsed));
});

describe("a handed-over segment's header", () => {
  const expect_ = { systemIdentifier: SYSID, segmentSize: SEG };
  const name = "000000010000000000000003";
  it.each([
    ["this cluster's segment of that name", header(), undefined],
    ["another cluster's", header({ sysid: 12345n }), `${name} is from another cluster (system identifier 12345, not ${SYSID})`],
    ["another segment size", header({ segSize: 1 << 20 }), `${name} has 1048576-byte segments, not ${SEG}`],
    ["another segment, renamed", header({ pageAddress: 4n * BigInt(SEG) }), `${name} holds timeline 1 at 4000000, not what its name says`],
    ["another timeline's", header({ timeline: 2 }), `${name} holds timeline 2 at 3000000, not what its name says`],
    ["no long header", header({ info: 0 }), `${name} does not begin with a segment's long page header`],
    ["too short", header().subarray(0, 20), `${name} is shorter than a WAL page header`],
  ])("%s", (_what, head, problem) => expect(segmentHeaderProblem(head, name, expect_)).toBe(problem));

  it("refuses a name that is not a segment's", () => expect(segmentHeaderProblem(header(), "00000001.history", expect_)).toBe("00000001.history is not a WAL segment name"));
});
