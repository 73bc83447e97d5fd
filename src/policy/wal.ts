/*
 * Write-ahead log arithmetic for cluster jobs, pure: LSNs, segment names, the segments a
 * base backup or a recovery needs, gaps in an archive, and the RPO of a WAL archive.
 *
 * An LSN is a 64-bit byte position in the WAL, written "X/Y" (the high and low 32 bits in
 * hex). A segment holds `segmentSize` bytes of it (16 MiB unless initdb said otherwise) and
 * is named by its timeline and number: TTTTTTTT XXXXXXXX YYYYYYYY, where the number is
 * split into "log" X and "seg" Y with 2^32 / segmentSize segments per log.
 */

export type Lsn = bigint;

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

export function parseLsn(text: string): Lsn {
  const m = LSN.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)} (expected X/Y in hex, e.g. 0/3000028)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** A segment size PostgreSQL allows: a power of two from 1 MiB to 1 GiB. */
export function checkSegmentSize(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 1 << 20 || bytes > 1 << 30 || (bytes & (bytes - 1)) !== 0)
    throw new Error(`${bytes} is not a WAL segment size (a power of two from 1 MiB to 1 GiB)`);
  return bytes;
}

export interface Segment {
  timeline: number;
  /** The segment's number: its first LSN divided by the segment size. */
  number: bigint;
}

export function segmentOf(timeline: number, lsn: Lsn, segmentSize: number): Segment {
  return { timeline, number: lsn / BigInt(segmentSize) };
}

export function segmentName(s: Segment, segmentSize: number): string {
  const perLog = 0x100000000n / BigInt(segmentSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, "0");
  return `${hex(s.timeline)}${hex(s.number / perLog)}${hex(s.number % perLog)}`;
}

/** The segment a file name names, or undefined for any other name (a .history, .partial or .backup file). */
export function parseSegmentName(name: string, segmentSize: number): Segment | undefined {
  const m = SEGMENT.exec(name);
  if (!m) return undefined;
  const perLog = 0x100000000n / BigInt(segmentSize);
  const seg = BigInt(`0x${m[3]}`);
  if (seg >= perLog) return undefined;
  return { timeline: Number.parseInt(m[1]!, 16), number: BigInt(`0x${m[2]}`) * perLog + seg };
}

/**
 * The segments holding the WAL from `start` up to `end` on one timeline: what a base backup
 * taken between those LSNs needs before it is consistent, or a recovery needs to replay
 * that far. `end` is the position after the last byte needed, so a range ending exactly on
 * a segment boundary does not need the segment that begins there.
 */
export function segmentsBetween(timeline: number, start: Lsn, end: Lsn, segmentSize: number): string[] {
  if (end < start) throw new Error(`the range ends (${formatLsn(end)}) before it starts (${formatLsn(start)})`);
  const size = BigInt(segmentSize);
  const first = start / size;
  const last = end === start ? first : (end - 1n) / size;
  const names: string[] = [];
  for (let n = first; n <= last; n++) names.push(segmentName({ timeline, number: n }, segmentSize));
  return names;
}

/** The names among `needed` that `archived` lacks, in order: a recovery would stop at the first. */
export function missingSegments(needed: readonly string[], archived: ReadonlySet<string>): string[] {
  return needed.filter((name) => !archived.has(name));
}

/** A sample of the server's WAL position: the LSN it had written up to at a moment. */
export interface LsnSample {
  at: number;
  lsn: Lsn;
}

/**
 * The RPO of a WAL archive at `now`: the age of the oldest write that is not yet durable
 * under the policy, 0 when every sampled write is. `durable` is the LSN up to which the WAL
 * is on enough targets. A write past it was made after the last sample that it does not
 * exceed, so its age is counted from that sample (the earliest it can have happened); with
 * no such sample, from the oldest sample kept. Samples are in any order.
 */
export function walLagMs(samples: readonly LsnSample[], durable: Lsn, now: number): number {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const firstAhead = sorted.findIndex((s) => s.lsn > durable);
  if (firstAhead === -1) return 0;
  const since = firstAhead === 0 ? sorted[0]!.at : sorted[firstAhead - 1]!.at;
  return Math.max(0, now - since);
}

/**
 * How far an archive lets a base backup be restored: from the segment numbered `first`
 * (where the backup began) on, as long as each next segment is archived, the last of them
 * and when it was archived; undefined when the chain stops before `consistent` (the segment
 * holding the backup's end: short of it the backup restores to no consistent point).
 */
export function chainEnd(first: bigint, consistent: bigint, archivedAt: ReadonlyMap<bigint, number>): { last: bigint; at: number } | undefined {
  let at: number | undefined;
  let n = first;
  for (; archivedAt.has(n); n++) at = Math.max(at ?? 0, archivedAt.get(n)!);
  const last = n - 1n;
  return at === undefined || last < consistent ? undefined : { last, at };
}

/**
 * Where the archive is durable up to: the end of the chain's last segment, or further where
 * every target holds a partial copy of the segment after it (then the least of how far
 * those copies reach). `partials` has one entry per target: its newest partial copy, if any.
 */
export function durableEnd(chainLast: bigint, segmentSize: number, partials: readonly ({ number: bigint; covered: number } | undefined)[]): Lsn {
  const size = BigInt(segmentSize);
  const chainEnds = (chainLast + 1n) * size;
  const next = partials.map((p) => (p && p.number === chainLast + 1n ? Math.min(p.covered, segmentSize) : 0));
  if (next.length === 0) return chainEnds;
  return chainEnds + BigInt(Math.min(...next));
}

/**
 * Which of a WAL archive's stored objects a target can drop once no base backup it keeps
 * begins before segment number `keepFrom`: every object of a segment numbered below it
 * (whole or a partial copy, its record and signature), records first, so that a deletion
 * cut short never leaves a record whose file is gone. Timeline history files stay: they are
 * small, and a restore that follows a timeline needs them. `names` are relative to the
 * job's WAL prefix.
 */
export function prunableWal(names: readonly string[], keepFrom: bigint, segmentSize: number): string[] {
  const old = names.filter((n) => {
    const segment = parseSegmentName(n.slice(0, 24), segmentSize);
    return segment !== undefined && (n.length === 24 || n[24] === ".") && segment.number < keepFrom;
  });
  const isRecord = (n: string) => n.endsWith(".json");
  return [...old.filter(isRecord), ...old.filter((n) => !isRecord(n))];
}
