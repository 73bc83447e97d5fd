import { createHash } from "node:crypto";

/** What the store said of an upload: the object's ETag and, for a multipart upload, each part's. */
export interface StoredEtags {
  object: string | undefined;
  /** By part number (1-based). */
  parts: ReadonlyMap<number, string>;
}

/**
 * True when the store's own MD5s match ours for every byte (`partMd5s`: each part's, in
 * order, as the upload computed them on its part buffers). A single PUT's ETag
 * is the MD5 of the object; a multipart object's is MD5(MD5(part 1) ... MD5(part n)) + "-n".
 * Some S3-compatible stores (s3rver among them) give a multipart object the MD5 of its
 * whole content instead; then every part's ETag, which the store checked again on
 * completing the upload in that order, must match. Where ETags are not MD5s (SSE-KMS,
 * some stores) nothing matches and the caller re-reads the copy instead.
 */
export function etagVerifies(stored: StoredEtags, partMd5s: Buffer[]): boolean {
  if (stored.object === undefined) return false;
  // An empty upload is one empty part.
  const ours = partMd5s.length > 0 ? partMd5s : [createHash("md5").digest()];
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
