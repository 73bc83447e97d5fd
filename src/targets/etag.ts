import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { PieceHasher } from "../pipeline/pieces.js";

/**
 * Computes the ETag S3 gives an object uploaded in parts of `partSize` bytes: the MD5 of
 * the object for a single PUT, else MD5(MD5(part 1) ... MD5(part n)) + "-n". Comparing
 * it with the ETag the store returns proves the store received exactly these bytes,
 * without reading them back. Some S3-compatible stores (s3rver among them) give a
 * multipart object the MD5 of its whole content instead, so both are computed. Where a
 * store's ETag is not an MD5 (SSE-KMS, some S3-compatible stores), the comparison fails
 * and the caller re-reads instead.
 */
export class MultipartEtag extends Transform {
  private readonly whole = createHash("md5");
  private readonly parts: PieceHasher;
  private total = 0;

  constructor(partSize: number) {
    super();
    this.parts = new PieceHasher(partSize, "md5");
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.whole.update(chunk);
    this.total += chunk.length;
    this.parts.update(chunk);
    done(null, chunk);
  }

  /** The ETags an upload of these bytes may have: single PUT, or multipart. */
  candidates(): string[] {
    const last = this.parts.partial();
    const digests = last || this.parts.count === 0 ? [...this.parts.digests, last ?? createHash("md5").digest()] : this.parts.digests;
    const multipart = `${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${digests.length}`;
    return [this.whole.copy().digest("hex"), multipart];
  }

  get bytes(): number {
    return this.total;
  }
}

export function etagMatches(etag: string | undefined, candidates: string[]): boolean {
  return etag !== undefined && candidates.includes(etag.replace(/"/g, "").toLowerCase());
}
