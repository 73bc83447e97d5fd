import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { ArtifactPieces } from "../manifest.js";

/**
 * Artifacts are also hashed in pieces. A restore then checks each piece as it arrives and
 * starts loading verified bytes while the rest still downloads, instead of waiting for the
 * whole artifact's sha256; the first piece is what loading waits for. Pieces are 16 MiB
 * (about 0.1 s of download), and grow in powers of two for artifacts expected to be larger
 * than 16 GiB, so a manifest holds at most about 1024 piece hashes.
 */
const MIN_PIECE_SIZE = 16 * 1024 * 1024;
const MAX_PIECES = 1024;

/** The piece size for an artifact about `expectedSize` bytes big (the job's previous one; unknown for a first backup). */
export function pieceSizeFor(expectedSize: number | undefined): number {
  let size = MIN_PIECE_SIZE;
  while (size * MAX_PIECES < (expectedSize ?? 0)) size *= 2;
  return size;
}

/** Digests of consecutive `pieceSize`-byte pieces of a stream of buffers (the last may be shorter). */
export class PieceHasher {
  readonly digests: Buffer[] = [];
  private hash: Hash;
  private filled = 0;

  constructor(readonly pieceSize: number) {
    this.hash = createHash("sha256");
  }

  /** The pieces' digests in hex. */
  get hashes(): string[] {
    return this.digests.map((d) => d.toString("hex"));
  }

  /** How many pieces are complete. */
  get count(): number {
    return this.digests.length;
  }

  /** Hashes `chunk`; returns how many pieces it completed. */
  update(chunk: Buffer): number {
    const before = this.digests.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.pieceSize - this.filled, chunk.length - offset);
      this.hash.update(chunk.subarray(offset, offset + take));
      this.filled += take;
      offset += take;
      if (this.filled === this.pieceSize) this.closePiece();
    }
    return this.digests.length - before;
  }

  /** Closes the last, shorter piece, if any. */
  finish(): void {
    if (this.filled > 0) this.closePiece();
  }

  private closePiece(): void {
    this.digests.push(this.hash.digest());
    this.hash = createHash("sha256");
    this.filled = 0;
  }
}

/** Passes bytes through unchanged while counting them and hashing them in pieces. */
export class PieceDigestStream extends Transform {
  private readonly hasher: PieceHasher;
  bytes = 0;

  constructor(pieceSize: number) {
    super();
    this.hasher = new PieceHasher(pieceSize);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hasher.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.hasher.finish();
    done();
  }

  /** Each piece's digest, the last (shorter) one included; valid once the stream has finished. */
  get digests(): Buffer[] {
    return this.hasher.digests;
  }

  /** Valid once the stream has finished. */
  pieces(): ArtifactPieces {
    return { size: this.hasher.pieceSize, sha256: this.hasher.hashes };
  }
}

/**
 * A manifest's pieces are used only when they describe exactly `size` bytes; otherwise
 * (an older manifest, or a damaged one) a restore checks the whole artifact before use.
 */
export function usablePieces(pieces: ArtifactPieces | undefined, size: number): ArtifactPieces | undefined {
  if (!pieces || !Number.isSafeInteger(pieces.size) || pieces.size < 1 << 20 || !Array.isArray(pieces.sha256)) return undefined;
  if (pieces.sha256.length !== Math.ceil(size / pieces.size)) return undefined;
  return pieces.sha256.every((h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h)) ? pieces : undefined;
}
