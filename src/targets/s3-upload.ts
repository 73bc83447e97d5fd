import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import type { CompletedPart, PutObjectCommandInput, S3Client, UploadPartCommandOutput } from "@aws-sdk/client-s3";
import type { StoredEtags } from "./etag.js";

type Sdk = typeof import("@aws-sdk/client-s3");

/** What the object is stored with, besides its bytes: bucket, key, storage class, encryption, lock. */
export type ObjectParams = Omit<PutObjectCommandInput, "Body" | "ContentMD5" | "ContentLength">;

/** S3's smallest part but the last: the first part is this small, so bytes reach the link soonest. */
const FIRST_PART_SIZE = 5 * 1024 * 1024;
/**
 * Parts that end within this share of the expected size are streamed; the margin is for an
 * artifact smaller than last time, whose last part would otherwise be cut short mid-request
 * and sent again.
 */
const STREAM_WITHIN = 0.9;

export interface StreamUploadOptions {
  client: S3Client;
  sdk: Sdk;
  params: ObjectParams;
  /** The size of every part after the first (and before the last). */
  partSize: number;
  /** Parts sent at once; one more is filled meanwhile, so a free slot never waits for data. */
  partsInFlight: number;
  /**
   * About how big the object will be (the same artifact last time). One bigger than the
   * first part starts its multipart upload at once, and its parts up to 90% of that size
   * are sent as they are produced (unless each part needs its Content-MD5 up front).
   */
  expectedSize: number | undefined;
  /** Send each part's MD5 as Content-MD5 (stores require it for Object Lock). */
  contentMd5: boolean;
  /** Awaited after the last byte was read and sent, before the object is completed; if it rejects, nothing becomes visible. */
  beforeComplete?: () => Promise<unknown>;
  /** A signal that aborts a request of `bytes` once it has taken longer than a live store would. */
  deadline: (bytes: number) => AbortSignal;
  /** Aborts the whole upload (shutdown). */
  signal?: AbortSignal;
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
 * A part expected not to be the last is sent while it fills (its length is known), so the
 * link carries the source's bytes as they come instead of waiting for each part to be cut
 * (the source is slow to start: pg_dump reads its catalog, zstd fills its first job). Such a
 * request cannot be retried (its bytes are gone), so if it fails the part is sent again from
 * its buffer, which is kept until then; one the source ends early is cancelled and its bytes
 * sent with their true length.
 */
export async function uploadStream(data: Readable, o: StreamUploadOptions): Promise<StreamUploadResult> {
  const { client, sdk, params } = o;
  const cancel = new AbortController();
  const onAbort = () => cancel.abort(o.signal!.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let uploadId: Promise<string> | undefined;
  const startUpload = (): Promise<string> =>
    // Never cancelled (only its deadline ends it): an upload the store created must be known, to be aborted.
    (uploadId ??= client.send(new sdk.CreateMultipartUploadCommand(params), { abortSignal: o.deadline(0) }).then((r) => {
      if (!r.UploadId) throw new Error("the store gave no UploadId");
      return r.UploadId;
    }));
  // Awaited later; a rejection now must not go unhandled meanwhile.
  if ((o.expectedSize ?? 0) > FIRST_PART_SIZE) startUpload().catch(() => undefined);
  const streams = (start: number, length: number) => !o.contentMd5 && o.expectedSize !== undefined && start + length <= o.expectedSize * STREAM_WITHIN;

  const partMd5s: Buffer[] = [];
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  const spare: Buffer[] = [];
  let failure: unknown;
  /** Sends a full part: one streamed as it filled is already on its way (`early`) and is sent again only if that failed. */
  const sendPart = (partNumber: number, buffer: Buffer, length: number, early?: Promise<UploadPartCommandOutput>) => {
    const body = buffer.subarray(0, length);
    const md5 = createHash("md5").update(body).digest();
    partMd5s[partNumber - 1] = md5;
    const sent: Promise<void> = (async () => {
      const res = (await early?.catch(() => undefined)) ?? (await uploadPart(partNumber, body, length, cancel.signal, o.contentMd5 ? md5 : undefined));
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
  const firstLength = Math.min(FIRST_PART_SIZE, o.partSize);
  /** The current part's request, when it is sent as it fills. */
  let live = streams(0, firstLength) ? streamPart(1, firstLength) : undefined;
  try {
    o.signal?.throwIfAborted();
    for await (const piece of data as AsyncIterable<Buffer | string>) {
      const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
      for (let offset = 0; offset < chunk.length; ) {
        const limit = partNumber === 1 ? firstLength : o.partSize;
        const take = Math.min(limit - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + take);
        // The buffer is not reused before the part is sent: the streamed request may read it in place.
        live?.write(current.subarray(filled, filled + take));
        filled += take;
        offset += take;
        bytes += take;
        if (filled === limit) {
          const early = live?.end();
          live = undefined;
          await slotFree();
          sendPart(partNumber++, current, filled, early);
          current = spare.pop() ?? Buffer.allocUnsafe(o.partSize);
          filled = 0;
          if (streams(bytes, o.partSize)) live = streamPart(partNumber, o.partSize);
        }
      }
    }
    if (partNumber === 1) return await putWhole(current.subarray(0, filled));
    // Shorter than its request said: cancelled, and sent below with its true length.
    await live?.stop();
    live = undefined;
    if (filled > 0) {
      await slotFree();
      sendPart(partNumber++, current, filled);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    await o.beforeComplete?.();
    cancel.signal.throwIfAborted();
    const done = await client.send(
      new sdk.CompleteMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: await startUpload(), MultipartUpload: { Parts: parts } }),
      // No overall deadline: a store may take minutes to assemble a large object (S3 keeps the
      // connection alive meanwhile); one that stops answering fails by the stall timeout.
      { abortSignal: cancel.signal },
    );
    const etags = new Map(parts.map((p) => [p.PartNumber!, p.ETag ?? ""]));
    return { bytes, partMd5s, etags: { object: done.ETag, parts: etags }, version: done.VersionId };
  } catch (err) {
    // The first failure is the cause; cancelling the rest makes them fail too.
    const cause = failure ?? err;
    cancel.abort();
    await live?.stop();
    await Promise.all(inFlight);
    if (uploadId) await abortUpload();
    throw cause;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
  }

  async function putWhole(body: Buffer): Promise<StreamUploadResult> {
    // Started early for an object that turned out small: a single PUT instead.
    await live?.stop();
    if (uploadId) await abortUpload();
    uploadId = undefined;
    const md5 = createHash("md5").update(body).digest();
    await o.beforeComplete?.();
    cancel.signal.throwIfAborted();
    const done = await client.send(
      new sdk.PutObjectCommand({ ...params, Body: body, ContentLength: body.length, ...(o.contentMd5 ? { ContentMD5: md5.toString("base64") } : {}) }),
      { abortSignal: AbortSignal.any([cancel.signal, o.deadline(body.length)]) },
    );
    return { bytes, partMd5s: [md5], etags: { object: done.ETag, parts: new Map() }, version: done.VersionId };
  }

  /** A part as a request whose body is written while the part fills. */
  function streamPart(partNumber: number, length: number) {
    const body = new PassThrough({ highWaterMark: length });
    // Its failure is handled where the part is sent; a body the request dropped takes no more writes.
    body.on("error", () => undefined);
    const stopped = new AbortController();
    // Its bytes come at the source's pace; its deadline starts once the part is whole. Before
    // that, a request on which nothing moves fails by the client's stall timeout.
    const late = new AbortController();
    let deadline: AbortSignal | undefined;
    const onLate = () => late.abort(deadline!.reason);
    const answer = uploadPart(partNumber, body, length, AbortSignal.any([cancel.signal, stopped.signal, late.signal]));
    answer.catch(() => undefined);
    void answer.finally(() => deadline?.removeEventListener("abort", onLate)).catch(() => undefined);
    return {
      write: (bytes: Buffer) => void (body.destroyed || body.write(bytes)),
      /** The part is whole: its last bytes are written; resolves with the store's answer. */
      end: (): Promise<UploadPartCommandOutput> => {
        if (!body.destroyed) body.end();
        deadline = o.deadline(length);
        deadline.addEventListener("abort", onLate, { once: true });
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

  /** One UploadPart request, once the upload exists; `md5` is sent as Content-MD5. */
  async function uploadPart(partNumber: number, body: Buffer | Readable, length: number, signal: AbortSignal, md5?: Buffer): Promise<UploadPartCommandOutput> {
    const input = { Bucket: params.Bucket, Key: params.Key, UploadId: await startUpload(), PartNumber: partNumber, Body: body, ContentLength: length };
    // A buffered part's deadline runs from its send; a streamed one's is in `signal`.
    const bounded = Buffer.isBuffer(body) ? AbortSignal.any([signal, o.deadline(length)]) : signal;
    return client.send(new sdk.UploadPartCommand(md5 ? { ...input, ContentMD5: md5.toString("base64") } : input), { abortSignal: bounded });
  }

  async function abortUpload(): Promise<void> {
    const id = await uploadId!.catch(() => undefined);
    if (!id) return;
    // Best effort: a store that keeps the parts of an aborted upload is cleaned by its lifecycle rule.
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: id }), { abortSignal: o.deadline(0) }).catch(() => undefined);
  }
}
