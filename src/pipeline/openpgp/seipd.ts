import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual, type Cipher, type Decipher, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { CopyingPartialBodyWriter, PacketReader, PartialBodyWriter, TAG } from "./packets.js";

/**
 * The bulk of an OpenPGP message, streamed with node:crypto: a version 1 Symmetrically
 * Encrypted Integrity Protected Data packet (RFC 4880 §5.13: AES in CFB mode with a zero
 * IV, a random prefix, a SHA-1 modification detection code at the end) around one
 * literal-data packet. GnuPG 2.2 reads it. openpgp.js writes the same packets, but
 * through web streams that cost 4-5 times the CPU of the cipher itself.
 */

export type SessionAlgorithm = "aes128" | "aes192" | "aes256";
const KEY_BYTES: Record<SessionAlgorithm, number> = { aes128: 16, aes192: 24, aes256: 32 };
const BLOCK = 16;
const MDC_HEADER = Buffer.of(0xd3, 0x14);
const MDC_PACKET = MDC_HEADER.length + 20;

export interface SessionKey {
  algorithm: SessionAlgorithm;
  key: Uint8Array;
}

export function isSessionAlgorithm(name: string): name is SessionAlgorithm {
  return name in KEY_BYTES;
}

function cipherName(session: SessionKey): string {
  if (session.key.length !== KEY_BYTES[session.algorithm]) throw new Error(`session key of ${session.key.length} bytes does not fit ${session.algorithm}`);
  return `aes-${KEY_BYTES[session.algorithm] * 8}-cfb`;
}

/** Plain bytes in; the SEIPD packet (header included) out. */
export class SeipdEncryptStream extends Transform {
  private readonly cipher: Cipher;
  private readonly mdc: Hash = createHash("sha1");
  private readonly outer: PartialBodyWriter;
  private readonly literal: CopyingPartialBodyWriter;

  /** `leading`: the session key packets, written before the encrypted data. */
  constructor(session: SessionKey, leading: Buffer) {
    super();
    this.cipher = createCipheriv(cipherName(session), session.key, Buffer.alloc(BLOCK));
    // The cipher reads each 1 MiB literal part at once; its output, a new buffer per part,
    // is framed without another copy.
    this.outer = new PartialBodyWriter((b) => this.push(b));
    this.literal = new CopyingPartialBodyWriter((part) => this.encrypt(part));
    this.push(leading);
    this.push(Buffer.of(0xc0 | TAG.symEncryptedIntegrityProtectedData));
    this.outer.write(Buffer.of(1)); // packet version, not encrypted
    const prefix = randomBytes(BLOCK + 2);
    prefix[BLOCK] = prefix[BLOCK - 2]!;
    prefix[BLOCK + 1] = prefix[BLOCK - 1]!;
    this.encrypt(prefix);
    this.encrypt(Buffer.of(0xc0 | TAG.literalData));
    // Binary data, no file name, no date: the manifest records what the bytes are.
    this.literal.write(Buffer.of(0x62, 0, 0, 0, 0, 0));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.literal.write(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.literal.end();
    this.mdc.update(MDC_HEADER);
    const digest = this.mdc.digest();
    this.outer.write(this.cipher.update(MDC_HEADER));
    this.outer.write(this.cipher.update(digest));
    this.outer.write(this.cipher.final());
    this.outer.end();
    done();
  }

  private encrypt(plain: Buffer): void {
    this.mdc.update(plain);
    this.outer.write(this.cipher.update(plain));
  }
}

/**
 * The inverse: the bytes of a SEIPD packet's body (after its header) in, the literal
 * data out through `emit`. The modification detection code is checked at the end of the
 * input, so plain bytes are released before it: callers decrypt only data whose sha256
 * matched, and treat a late error as a failed restore. Errors are thrown.
 */
export class SeipdBodyDecryptor {
  private readonly decipher: Decipher;
  private readonly mdc: Hash = createHash("sha1");
  private version: number | undefined;
  private prefix: Buffer | undefined = Buffer.alloc(0);
  /** The last 22 plain bytes seen: the MDC packet once the input ends. */
  private tail: Buffer = Buffer.alloc(0);
  private readonly inner: PacketReader;
  private innerTag: number | undefined;
  private literalHeader: Buffer | undefined = Buffer.alloc(0);
  private packetsSeen = 0;

  constructor(
    session: SessionKey,
    private readonly emit: (plain: Buffer) => void,
  ) {
    this.decipher = createDecipheriv(cipherName(session), session.key, Buffer.alloc(BLOCK));
    this.inner = new PacketReader({
      start: (tag) => {
        if (tag === TAG.marker || tag === TAG.padding) return;
        if (this.packetsSeen++ > 0) throw new Error("the encrypted data holds more than one packet");
        if (tag === TAG.compressedData) throw new Error("the encrypted data is OpenPGP-compressed, which drd does not write");
        if (tag !== TAG.literalData) throw new Error(`the encrypted data holds packet type ${tag}, not literal data`);
        this.innerTag = tag;
      },
      body: (bytes) => {
        if (this.innerTag === TAG.literalData) this.literalBody(bytes);
      },
      end: () => {
        if (this.innerTag === TAG.literalData && this.literalHeader !== undefined) throw new Error("the literal data packet is too short");
        this.innerTag = undefined;
      },
    });
  }

  update(chunk: Buffer): void {
    if (this.version === undefined) {
      if (chunk.length === 0) return;
      this.version = chunk[0];
      if (this.version !== 1) throw new Error(`encrypted data packet version ${this.version} is not supported (drd writes version 1)`);
      chunk = chunk.subarray(1);
    }
    this.plain(this.decipher.update(chunk));
  }

  final(): void {
    this.plain(this.decipher.final());
    if (this.version === undefined || this.prefix !== undefined || this.tail.length < MDC_PACKET) throw new Error("the encrypted data is truncated");
    if (!this.tail.subarray(0, 2).equals(MDC_HEADER)) throw new Error("the modification detection code is missing");
    this.mdc.update(MDC_HEADER);
    if (!timingSafeEqual(this.mdc.digest(), this.tail.subarray(2))) throw new Error("modification detected: the integrity check (MDC) failed");
    this.inner.finish();
    if (this.packetsSeen === 0) throw new Error("the encrypted data holds no literal data packet");
  }

  /** Decrypted bytes: the prefix first, then packets, holding back what may be the MDC. */
  private plain(bytes: Buffer): void {
    if (this.prefix !== undefined) {
      const need = BLOCK + 2 - this.prefix.length;
      this.prefix = Buffer.concat([this.prefix, bytes.subarray(0, need)]);
      bytes = bytes.subarray(need);
      if (this.prefix.length < BLOCK + 2) return;
      // The repeated octets: a wrong session key shows here, before any data is released.
      if (this.prefix[BLOCK] !== this.prefix[BLOCK - 2] || this.prefix[BLOCK + 1] !== this.prefix[BLOCK - 1]) {
        throw new Error("the session key does not decrypt this data (prefix check failed)");
      }
      this.mdc.update(this.prefix);
      this.prefix = undefined;
    }
    if (bytes.length === 0) return;
    const all = this.tail.length === 0 ? bytes : Buffer.concat([this.tail, bytes]);
    const release = all.length - MDC_PACKET;
    if (release <= 0) {
      this.tail = all;
      return;
    }
    const out = all.subarray(0, release);
    this.tail = Buffer.from(all.subarray(release));
    this.mdc.update(out);
    this.inner.write(out);
  }

  private literalBody(bytes: Buffer): void {
    if (this.literalHeader !== undefined) {
      // format octet, file name (length-prefixed), 4-octet date
      const joined = Buffer.concat([this.literalHeader, bytes]);
      if (joined.length < 2 || joined.length < 2 + joined[1]! + 4) {
        this.literalHeader = joined;
        return;
      }
      bytes = joined.subarray(2 + joined[1]! + 4);
      this.literalHeader = undefined;
    }
    if (bytes.length > 0) this.emit(bytes);
  }
}
