/**
 * OpenPGP packet framing (RFC 4880 §4.2): just enough to stream the two packets that carry
 * bulk data, the encrypted-data packet and the literal-data packet inside it. Everything
 * about keys stays with openpgp.js.
 */

export const TAG = {
  publicKeyEncryptedSessionKey: 1,
  symEncryptedSessionKey: 3,
  compressedData: 8,
  marker: 10,
  literalData: 11,
  symEncryptedIntegrityProtectedData: 18,
  padding: 21,
} as const;

/** A new-format packet header: tag byte and a definite length. */
export function packetHeader(tag: number, length: number): Buffer {
  return Buffer.concat([Buffer.of(0xc0 | tag), definiteLength(length)]);
}

export function definiteLength(length: number): Buffer {
  if (length < 192) return Buffer.of(length);
  if (length < 8384) return Buffer.of(((length - 192) >> 8) + 192, (length - 192) & 0xff);
  const b = Buffer.alloc(5);
  b[0] = 0xff;
  b.writeUInt32BE(length, 1);
  return b;
}

function partialLengthOctet(partSize: number): Buffer {
  const log2 = Math.log2(partSize);
  if (!Number.isInteger(log2) || log2 < 9 || log2 > 30) throw new Error(`partial part size ${partSize} is not a power of two in 512..2^30`);
  return Buffer.of(0xe0 | log2);
}

/**
 * Writes a packet body of unknown length as partial-length parts of `partSize` bytes (a
 * power of two, at least 512 as the first part must be) and a final definite-length part.
 * Each part goes to `emit` as its length octet and then the input it spans, as views of the
 * input buffers: no copy, and no new buffer per part.
 */
export class PartialBodyWriter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly lengthOctet: Buffer;

  constructor(
    private readonly emit: (bytes: Buffer) => void,
    private readonly partSize = 1 << 20,
  ) {
    this.lengthOctet = partialLengthOctet(partSize);
  }

  write(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    while (this.heldBytes >= this.partSize) this.emitPart();
  }

  end(): void {
    this.emit(definiteLength(this.heldBytes));
    for (const b of this.held) this.emit(b);
    this.held = [];
    this.heldBytes = 0;
  }

  private emitPart(): void {
    this.emit(this.lengthOctet);
    for (let left = this.partSize; left > 0; ) {
      const b = this.held[0]!;
      if (b.length <= left) {
        this.emit(b);
        this.held.shift();
        left -= b.length;
      } else {
        this.emit(b.subarray(0, left));
        this.held[0] = b.subarray(left);
        left = 0;
      }
    }
    this.heldBytes -= this.partSize;
  }
}

/**
 * The same framing for a consumer that is done with its input when it returns (a cipher):
 * the input is copied into one part buffer, reused for every part, and `emit` gets each
 * whole part, length octet included. So the consumer is called once per part (1 MiB, not
 * per 64 KiB pipe read), and no buffer is allocated per part: a new 1 MiB buffer for every
 * part made V8 collect garbage for external memory pressure many times over.
 */
export class CopyingPartialBodyWriter {
  private readonly part: Buffer;
  private filled = 1;

  constructor(
    private readonly emit: (part: Buffer) => void,
    partSize = 1 << 20,
  ) {
    this.part = Buffer.allocUnsafe(1 + partSize);
    this.part[0] = partialLengthOctet(partSize)[0]!;
  }

  write(bytes: Buffer): void {
    for (let offset = 0; offset < bytes.length; ) {
      const take = Math.min(this.part.length - this.filled, bytes.length - offset);
      bytes.copy(this.part, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.part.length) {
        this.emit(this.part);
        this.filled = 1;
      }
    }
  }

  end(): void {
    const body = this.part.subarray(1, this.filled);
    this.emit(Buffer.concat([definiteLength(body.length), body]));
    this.filled = 1;
  }
}

/** What a PacketReader reports, in order: a packet's start, its body bytes, its end. */
export interface PacketEvents {
  start(tag: number): void;
  body(bytes: Buffer): void;
  end(tag: number): void;
}

type Length = { kind: "definite"; length: number } | { kind: "partial"; length: number } | { kind: "indeterminate" };

/**
 * Splits a stream of OpenPGP packets, in either header format and with any length
 * encoding, into start/body/end events without holding more than one header.
 */
export class PacketReader {
  private header: number[] = [];
  /** The packet being read, once its header is complete. */
  private tag: number | undefined;
  private left = 0;
  private partial = false;
  private indeterminate = false;
  /** After a partial part: the next length octets are being read. */
  private inLength = false;

  constructor(private readonly events: PacketEvents) {}

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.tag === undefined || this.inLength) {
        this.header.push(chunk[at++]!);
        this.parseHeader();
        continue;
      }
      if (this.indeterminate) {
        this.events.body(at === 0 ? chunk : chunk.subarray(at));
        return;
      }
      const n = Math.min(this.left, chunk.length - at);
      if (n > 0) this.events.body(chunk.subarray(at, at + n));
      at += n;
      this.left -= n;
      if (this.left === 0) this.partEnded();
    }
  }

  /** The input ended: only valid between packets or inside an indeterminate-length one. */
  finish(): void {
    if (this.tag !== undefined && this.indeterminate) {
      const tag = this.tag;
      this.tag = undefined;
      this.events.end(tag);
      return;
    }
    if (this.tag !== undefined || this.header.length > 0) throw new Error("the OpenPGP data ends in the middle of a packet (truncated)");
  }

  private partEnded(): void {
    if (this.partial) {
      this.inLength = true;
      return;
    }
    const tag = this.tag!;
    this.tag = undefined;
    this.events.end(tag);
  }

  private parseHeader(): void {
    const h = this.header;
    if (this.inLength) {
      const length = newFormatLength(h, 0);
      if (length === undefined) return;
      if (length.kind === "indeterminate") throw new Error("invalid OpenPGP length");
      this.header = [];
      this.inLength = false;
      this.startPart(length);
      return;
    }
    const first = h[0]!;
    if ((first & 0x80) === 0) throw new Error("not OpenPGP data (bad packet header)");
    let tag: number;
    let length: Length | undefined;
    if (first & 0x40) {
      tag = first & 0x3f;
      length = newFormatLength(h, 1);
    } else {
      tag = (first >> 2) & 0x0f;
      length = oldFormatLength(first & 0x03, h);
    }
    if (length === undefined) return;
    this.header = [];
    this.tag = tag;
    this.events.start(tag);
    this.startPart(length);
  }

  private startPart(length: Length): void {
    this.partial = length.kind === "partial";
    this.indeterminate = length.kind === "indeterminate";
    this.left = length.kind === "indeterminate" ? 0 : length.length;
    if (!this.indeterminate && this.left === 0) this.partEnded();
  }
}

/** The length that starts at h[at], or undefined while more octets are needed. */
function newFormatLength(h: number[], at: number): Length | undefined {
  if (h.length <= at) return undefined;
  const o = h[at]!;
  if (o < 192) return { kind: "definite", length: o };
  if (o < 224) return h.length < at + 2 ? undefined : { kind: "definite", length: ((o - 192) << 8) + h[at + 1]! + 192 };
  if (o < 255) return { kind: "partial", length: 1 << (o & 0x1f) };
  if (h.length < at + 5) return undefined;
  return { kind: "definite", length: ((h[at + 1]! << 24) >>> 0) + (h[at + 2]! << 16) + (h[at + 3]! << 8) + h[at + 4]! };
}

function oldFormatLength(type: number, h: number[]): Length | undefined {
  if (type === 3) return { kind: "indeterminate" };
  const octets = type === 0 ? 1 : type === 1 ? 2 : 4;
  if (h.length < 1 + octets) return undefined;
  let length = 0;
  for (let i = 1; i <= octets; i++) length = length * 256 + h[i]!;
  return { kind: "definite", length };
}
