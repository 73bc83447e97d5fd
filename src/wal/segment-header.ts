import { parseSegmentName } from "../policy/wal.js";

/** The long page header that opens every WAL segment (XLogLongPageHeaderData), as far as it is read here. */
export const SEGMENT_HEADER_BYTES = 40;
const XLP_LONG_HEADER = 0x0002;

/**
 * Whether the first bytes of a file handed over as WAL segment `name` are that segment of
 * this cluster: the header's timeline, page address, system identifier and segment size
 * must be what the name and the server say. A file of another cluster, or one renamed,
 * is refused before it joins the archive. Undefined when it is; else why not.
 */
export function segmentHeaderProblem(head: Buffer, name: string, expect: { systemIdentifier: string; segmentSize: number }): string | undefined {
  const segment = parseSegmentName(name, expect.segmentSize);
  if (!segment) return `${name} is not a WAL segment name`;
  if (head.length < SEGMENT_HEADER_BYTES) return `${name} is shorter than a WAL page header`;
  if ((head.readUInt16LE(2) & XLP_LONG_HEADER) === 0) return `${name} does not begin with a segment's long page header`;
  const timeline = head.readUInt32LE(4);
  const pageAddress = head.readBigUInt64LE(8);
  const systemIdentifier = head.readBigUInt64LE(24).toString();
  const segmentSize = head.readUInt32LE(32);
  if (systemIdentifier !== expect.systemIdentifier) return `${name} is from another cluster (system identifier ${systemIdentifier}, not ${expect.systemIdentifier})`;
  if (segmentSize !== expect.segmentSize) return `${name} has ${segmentSize}-byte segments, not ${expect.segmentSize}`;
  if (timeline !== segment.timeline || pageAddress !== segment.number * BigInt(expect.segmentSize))
    return `${name} holds timeline ${timeline} at ${pageAddress.toString(16).toUpperCase()}, not what its name says`;
  return undefined;
}
