import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import type { CompletedPart, PutObjectCommandInput, S3Client, UploadPartCommandOutput } from "@aws-sdk/client-s3";
import type { StoredEtags } from "./etag.js";

type Sdk = typeof import("@aws-sdk/client-s3");

/** What the object is stored with, besides its bytes: bucket, key, storage class, encryption, lock. */
export type ObjectParams = Omit<PutObjectCommandInput, "Body" | "ContentMD5" | "ContentLength">;

/** S3's smallest part but the last: the first part is this small, so bytes reach the link soonest. */
export const FIRST_PART_SIZE = 5 * 1024 * 1024;

export interface StreamUploadOptions {
  client: S3Client;
  sdk: Sdk;
  params: ObjectParams;
  /** The size of every part after the first (and before the last). */
  partSize: number;
  /** Parts sent at once; one more is filled meanwhile, so a free slot never waits for data. */
  partsInFlight: number;
  /**
   * The object is expected to need several parts: start the multipart upload at once and,
   * unless each part needs its Content-MD5 up front, send the first part as it is produced.
   */
  startAtOnce: boolean;
  /** Send each part's MD5 as Content-MD5 (stores require it for Object Lock). */
  contentMd5: boolean;
  /** Awaited after the last byte was read and sent, before the object is completed; if it rejects, nothing becomes visible. */
  beforeComplete?: () => Promise<unknown>;
}

export interface StreamUploadResult {
  bytes: number;
  /** The MD5 of each part, in order (of the whole object for a single PUT): what the store's ETags must match. */
  partMd5s: Buffer[];
  etags: StoredEtags;
  version: string | undefined;
}

/**
 * Streams `data` into one S3 object: a single PUT when it fits the first part, else a
 * multipart upload whose parts fill reused buffers while earlier parts are in flight, so
 * memory stays at (partsInFlight + 1) parts and the link is never waiting for a part to be
 * cut. Each part's MD5 is computed once, on its buffer. On any failure the multipart upload
 * is aborted and the in-flight requests cancelled; the caller's stream is left to the caller.
 *
 * An upload started at once sends its first part while it fills (its length is known), so
 * the link starts with the source's first bytes instead of 5 MiB later. That request cannot
 * be retried (its bytes are gone), so if it fails the part is sent again from its buffer.
 */
export async function uploadStream(data: Readable, o: StreamUploadOptions): Promise<StreamUploadResult> {
  const { client, sdk, params } = o;
  const cancel = new AbortController();
  const sending = { abortSignal: cancel.signal };
  let uploadId: Promise<string> | undefined;
  const startUpload = (): Promise<string> =>
    // Never cancelled: an upload the store created must be known, to be aborted.
    (uploadId ??= client.send(new sdk.CreateMultipartUploadCommand(params)).then((r) => {
      if (!r.UploadId) throw new Error("the store gave no UploadId");
      return r.UploadId;
    }));
  // Awaited later; a rejection now must not go unhandled meanwhile.
  if (o.startAtOnce) startUpload().catch(() => undefined);
  const streamed = o.startAtOnce && !o.contentMd5 ? streamFirstPart() : undefined;

  const partMd5s: Buffer[] = [];
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  const spare: Buffer[] = [];
  let failure: unknown;
  /** Sends a full part; the first may already be on its way, streamed, and is sent again only if that failed. */
  const sendPart = (partNumber: number, buffer: Buffer, length: number, early?: Promise<UploadPartCommandOutput>) => {
    const body = buffer.subarray(0, length);
    const md5 = createHash("md5").update(body).digest();
    partMd5s[partNumber - 1] = md5;
    const sent: Promise<void> = (async () => {
      let res = await early?.catch(() => undefined);
      if (!res) {
        const UploadId = await startUpload();
        const input = { Bucket: params.Bucket, Key: params.Key, UploadId, PartNumber: partNumber, Body: body, ContentLength: length };
        res = await client.send(new sdk.UploadPartCommand(o.contentMd5 ? { ...input, ContentMD5: md5.toString("base64") } : input), sending);
      }
      parts[partNumber - 1] = { PartNumber: partNumber, ETag: res.ETag };
    })()
      .catch((err: unknown) => {
        failure ??= err;
        cancel.abort();
      })
      .finally(() => {
        inFlight.delete(sent);
        spare.push(buffer);
      });
    inFlight.add(sent);
  };
  const slotFree = async () => {
    while (inFlight.size >= o.partsInFlight && failure === undefined) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };

  let current: Buffer = Buffer.allocUnsafe(Math.max(FIRST_PART_SIZE, o.partSize));
  let filled = 0;
  let partNumber = 1;
  let bytes = 0;
  try {
    for await (const piece of data as AsyncIterable<Buffer | string>) {
      const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
      for (let offset = 0; offset < chunk.length; ) {
        const limit = partNumber === 1 ? Math.min(FIRST_PART_SIZE, o.partSize) : o.partSize;
        const take = Math.min(limit - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + take);
        // The buffer is not reused before the part is sent: the streamed request may read it in place.
        if (partNumber === 1) streamed?.write(current.subarray(filled, filled + take));
        filled += take;
        offset += take;
        bytes += take;
        if (filled === limit) {
          await slotFree();
          const early = partNumber === 1 ? streamed?.end() : undefined;
          sendPart(partNumber++, current, filled, early);
          current = spare.pop() ?? Buffer.allocUnsafe(o.partSize);
          filled = 0;
        }
      }
    }
    if (partNumber === 1) return await putWhole(current.subarray(0, filled));
    if (filled > 0) {
      await slotFree();
      sendPart(partNumber++, current, filled);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    await o.beforeComplete?.();
    const done = await client.send(
      new sdk.CompleteMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: await startUpload(), MultipartUpload: { Parts: parts } }),
    );
    const etags = new Map(parts.map((p) => [p.PartNumber!, p.ETag ?? ""]));
    return { bytes, partMd5s, etags: { object: done.ETag, parts: etags }, version: done.VersionId };
  } catch (err) {
    // The first failure is the cause; cancelling the rest makes them fail too.
    const cause = failure ?? err;
    cancel.abort();
    await streamed?.stop();
    await Promise.all(inFlight);
    if (uploadId) await abortUpload();
    throw cause;
  }

  async function putWhole(body: Buffer): Promise<StreamUploadResult> {
    // Started early for an object that turned out small: a single PUT instead.
    await streamed?.stop();
    if (uploadId) await abortUpload();
    uploadId = undefined;
    const md5 = createHash("md5").update(body).digest();
    await o.beforeComplete?.();
    const done = await client.send(
      new sdk.PutObjectCommand({ ...params, Body: body, ContentLength: body.length, ...(o.contentMd5 ? { ContentMD5: md5.toString("base64") } : {}) }),
    );
    return { bytes, partMd5s: [md5], etags: { object: done.ETag, parts: new Map() }, version: done.VersionId };
  }

  /** Part 1 as a request whose body is written while the part fills. */
  function streamFirstPart() {
    const body = new PassThrough({ highWaterMark: FIRST_PART_SIZE });
    // Its failure is handled where the part is sent; a body the request dropped takes no more writes.
    body.on("error", () => undefined);
    const stopped = new AbortController();
    const answer = (async () => {
      const UploadId = await startUpload();
      const input = { Bucket: params.Bucket, Key: params.Key, UploadId, PartNumber: 1, Body: body, ContentLength: FIRST_PART_SIZE };
      return client.send(new sdk.UploadPartCommand(input), { abortSignal: AbortSignal.any([cancel.signal, stopped.signal]) });
    })();
    answer.catch(() => undefined);
    return {
      write: (bytes: Buffer) => void (body.destroyed || body.write(bytes)),
      /** The part is whole: its last bytes are written; resolves with the store's answer. */
      end: (): Promise<UploadPartCommandOutput> => {
        if (!body.destroyed) body.end();
        return answer;
      },
      /** Cancels the request (the object turned out small, or the upload failed) and waits until it is settled. */
      stop: async () => {
        stopped.abort();
        body.destroy();
        await answer.catch(() => undefined);
      },
    };
  }

  async function abortUpload(): Promise<void> {
    const id = await uploadId!.catch(() => undefined);
    if (!id) return;
    // Best effort: a store that keeps the parts of an aborted upload is cleaned by its lifecycle rule.
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: id })).catch(() => undefined);
  }
}
