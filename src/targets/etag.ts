import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { PieceHasher } from "../pipeline/pieces.js";

/**
 * The MD5 of each `partSize`-byte part of an upload, computed as the bytes go by: what an
 * S3 store computes itself for every part it receives. Comparing the two proves the
 * store received exactly these bytes, without reading them back.
 */
export class PartMd5Stream extends Transform {
  private readonly parts: PieceHasher;
  private total = 0;

  constructor(partSize: number) {
    super();
    this.parts = new PieceHasher(partSize, "md5");
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    this.parts.update(chunk);
    done(null, chunk);
  }

  /** Each part's MD5, the last (shorter) one included; an empty upload is one empty part. */
  digests(): Buffer[] {
    const last = this.parts.partial();
    return last || this.parts.count === 0 ? [...this.parts.digests, last ?? createHash("md5").digest()] : this.parts.digests;
  }

  get bytes(): number {
    return this.total;
  }
}

/** What the store said of an upload: the object's ETag and, for a multipart upload, each part's. */
export interface StoredEtags {
  object: string | undefined;
  /** By part number (1-based). */
  parts: ReadonlyMap<number, string>;
}

/**
 * True when the store's own MD5s match ours for every byte. A single PUT's ETag is the
 * MD5 of the object; a multipart object's is MD5(MD5(part 1) ... MD5(part n)) + "-n".
 * Some S3-compatible stores (s3rver among them) give a multipart object the MD5 of its
 * whole content instead; then every part's ETag, which the store checked again on
 * completing the upload in that order, must match. Where ETags are not MD5s (SSE-KMS,
 * some stores) nothing matches and the caller re-reads the copy instead.
 */
export function etagVerifies(stored: StoredEtags, ours: Buffer[]): boolean {
  if (stored.object === undefined || ours.length === 0) return false;
  const object = clean(stored.object);
  if (ours.length === 1 && object === ours[0]!.toString("hex")) return true;
  if (object === compositeEtag(ours)) return true;
  return stored.parts.size === ours.length && ours.every((d, i) => clean(stored.parts.get(i + 1) ?? "") === d.toString("hex"));
}

export function compositeEtag(parts: Buffer[]): string {
  return `${createHash("md5").update(Buffer.concat(parts)).digest("hex")}-${parts.length}`;
}

function clean(etag: string): string {
  return etag.replace(/"/g, "").toLowerCase();
}
