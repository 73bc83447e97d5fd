import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import type { S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import type { S3TargetConfig } from "../config/schema.js";
import { OperationError } from "../errors.js";
import { DigestStream } from "../pipeline/digest.js";
import { etagVerifies } from "./etag.js";
import { uploadStream, type ObjectParams } from "./s3-upload.js";
import { assertSafeKey, ObjectNotFoundError, type ObjectInfo, type PutOptions, type PutResult, type Target } from "./target.js";

// drd pins its SDK version; the SDK's advice to upgrade Node would otherwise break one-line errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Multipart part size and parts in flight: memory per upload is one part more than their product. */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;
/** S3 allows 10,000 parts; part sizes leave room for an artifact twice as big as expected. */
const MAX_PARTS = 10_000;

/**
 * 8 MiB parts hold objects up to 78 GiB; a bigger expected size gets bigger parts (so
 * memory grows only beyond about 39 GiB). An artifact that outgrows even that fails its
 * upload and is copied again from the local copy, whose exact size then sets the parts.
 */
export function partSizeFor(expectedSize: number | undefined): number {
  const needed = Math.ceil(((expectedSize ?? 0) * 2) / MAX_PARTS / (1 << 20)) * (1 << 20);
  return Math.max(PART_SIZE, needed);
}
/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/**
 * An S3 or S3-compatible bucket. Uploads are streamed multipart uploads with bounded
 * memory; an object is visible only once complete. SDK checksums default to
 * "when required": stores that mishandle aws-chunked uploads would otherwise store the
 * chunk framing as data. drd computes sha256 while streaming and re-reads to verify.
 * The SDK is loaded on first use: commands that never touch S3 start without it.
 */
export class S3Target implements Target {
  private readonly prefix: string;
  private connection: Promise<{ client: S3Client; sdk: typeof import("@aws-sdk/client-s3") }> | undefined;

  constructor(
    readonly name: string,
    private readonly config: S3TargetConfig,
  ) {
    this.prefix = config.prefix && !config.prefix.endsWith("/") ? `${config.prefix}/` : config.prefix;
  }

  private connect(): Promise<{ client: S3Client; sdk: typeof import("@aws-sdk/client-s3") }> {
    this.connection ??= import("@aws-sdk/client-s3").then((sdk) => {
      const client = createClient(sdk, this.name, this.config);
      unsignedUploads(client);
      return { client, sdk };
    });
    return this.connection;
  }

  locate(keyOrPrefix: string): string {
    return `s3://${this.config.bucket}/${this.prefix}${keyOrPrefix.replace(/\/$/, "")}`;
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.prefix + key;
  }

  async put(key: string, data: Readable, options: PutOptions = {}): Promise<PutResult> {
    const objectKey = this.objectKey(key);
    const partSize = partSizeFor(options.expectedSize);
    // A fan-out branch carries the primary's bytes: its sha256 comes from there.
    const digest = options.sameBytesAs ? undefined : new DigestStream();
    if (digest) data.once("error", (err) => digest.destroy(err));
    const body = digest ? data.pipe(digest) : data;
    const params: ObjectParams = { Bucket: this.config.bucket, Key: objectKey };
    if (this.config.storage_class) params.StorageClass = this.config.storage_class as ObjectParams["StorageClass"];
    const sse = this.config.server_side_encryption;
    if (sse) {
      params.ServerSideEncryption = sse.algorithm;
      if (sse.kms_key_id) params.SSEKMSKeyId = sse.kms_key_id;
    }
    const lock = this.config.object_lock;
    if (lock) {
      params.ObjectLockMode = lock.mode;
      params.ObjectLockRetainUntilDate = new Date(Date.now() + lock.days * 86_400_000);
    }
    let uploaded;
    try {
      const { client, sdk } = await this.connect();
      uploaded = await uploadStream(body, {
        client,
        sdk,
        params,
        deadline: (bytes) => this.deadline(bytes),
        ...(options.signal ? { signal: options.signal } : {}),
        partSize,
        partsInFlight: PARTS_IN_FLIGHT,
        expectedSize: options.expectedSize,
        contentMd5: lock !== undefined,
        // The source says whether its bytes are whole before the object becomes visible.
        beforeComplete: options.ready,
      });
    } catch (err) {
      // Stop the producer too: nobody will read the rest.
      data.destroy();
      throw err instanceof OperationError ? err : this.error("upload", objectKey, options.signal?.aborted ? options.signal.reason : err);
    }
    const storeVerified = etagVerifies(uploaded.etags, uploaded.partMd5s);
    const versioned = uploaded.version ? { version: uploaded.version } : {};
    if (digest) return { size: digest.bytes, sha256: digest.hex(), storeVerified, ...versioned };
    const twin = await options.sameBytesAs!;
    if (twin.size !== uploaded.bytes) {
      await this.delete([key]).catch(() => undefined);
      throw new OperationError(`target ${this.name}: ${objectKey} got ${uploaded.bytes} bytes, the primary copy ${twin.size}`);
    }
    return { size: uploaded.bytes, sha256: twin.sha256, storeVerified, ...versioned };
  }

  async get(key: string, version?: string): Promise<Readable> {
    const objectKey = this.objectKey(key);
    const { client, sdk } = await this.connect();
    // Only until the answer starts: the body then streams for as long as bytes keep moving (the socket's stall timeout).
    const answer = new AbortController();
    const late = setTimeout(() => answer.abort(this.timeout(0)), this.deadlineMs(0));
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.config.bucket, Key: objectKey, ...(version ? { VersionId: version } : {}) }), { abortSignal: answer.signal });
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(this.locate(key));
      throw this.error("read", objectKey, answer.signal.aborted ? answer.signal.reason : err);
    } finally {
      clearTimeout(late);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const objectKey = this.objectKey(key);
    const { client, sdk } = await this.connect();
    try {
      const res = await client.send(new sdk.HeadObjectCommand({ Bucket: this.config.bucket, Key: objectKey }), { abortSignal: this.deadline(0) });
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.error("stat", objectKey, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const { client, sdk } = await this.connect();
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      let res;
      try {
        res = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
          { abortSignal: this.deadline(0) },
        );
      } catch (err) {
        throw this.error("list", this.prefix + prefix, err);
      }
      for (const o of res.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  /**
   * Keys under `prefix` whose newest entry is a delete marker over earlier versions: deleted
   * without a version id, which in a versioned (Object Lock) bucket hides an object and keeps it.
   */
  async hidden(prefix: string): Promise<string[]> {
    const { client, sdk } = await this.connect();
    const out: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    const versioned = new Set<string>();
    const markedLatest = new Set<string>();
    do {
      let res;
      try {
        res = await client.send(
          new sdk.ListObjectVersionsCommand({ Bucket: this.config.bucket, Prefix: this.prefix + prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
          { abortSignal: this.deadline(0) },
        );
      } catch (err) {
        throw this.error("list versions of", this.prefix + prefix, err);
      }
      for (const v of res.Versions ?? []) if (v.Key) versioned.add(v.Key);
      for (const m of res.DeleteMarkers ?? []) if (m.Key && m.IsLatest) markedLatest.add(m.Key);
      keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
      versionMarker = res.IsTruncated ? res.NextVersionIdMarker : undefined;
    } while (keyMarker);
    for (const key of markedLatest) if (versioned.has(key)) out.push(key.slice(this.prefix.length));
    return out.sort();
  }

  async delete(keys: string[]): Promise<void> {
    const { client, sdk } = await this.connect();
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH).map((k) => ({ Key: this.objectKey(k) }));
      let res;
      try {
        res = await client.send(new sdk.DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: batch, Quiet: true } }), { abortSignal: this.deadline(0) });
      } catch (err) {
        throw this.error("delete", `${batch.length} objects`, err);
      }
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new OperationError(`target ${this.name}: cannot delete ${failed.length} object(s), e.g. ${first.Key}: ${first.Code} ${first.Message ?? ""}`.trim());
      }
    }
  }

  /**
   * Why the bucket may not keep the Object Lock this target asks for, or undefined: locked
   * uploads into a bucket without Object Lock are stored without retention (or refused),
   * and without versioning an overwrite replaces a backup. A HEAD-like read of the bucket's
   * lock configuration; it writes nothing.
   */
  async lockProblem(): Promise<string | undefined> {
    const lock = this.config.object_lock;
    if (!lock) return undefined;
    const { client, sdk } = await this.connect();
    const bucket = this.config.bucket;
    try {
      const res = await client.send(new sdk.GetObjectLockConfigurationCommand({ Bucket: bucket }), { abortSignal: this.deadline(0) });
      if (res.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled") return undefined;
      return `bucket ${bucket} does not have Object Lock enabled: uploads ask for ${lock.mode} retention of ${lock.days} days that it will not keep`;
    } catch (err) {
      const e = err as S3ServiceException;
      if (e.name === "ObjectLockConfigurationNotFoundError")
        return `bucket ${bucket} has no Object Lock configuration: uploads ask for ${lock.mode} retention of ${lock.days} days that it will not keep (create the bucket with Object Lock, which also enables versioning)`;
      return `could not read the Object Lock configuration of bucket ${bucket} (${this.error("read", bucket, err).message.replace(/^.*: /, "")}): drd cannot tell whether the lock it asks for is kept`;
    }
  }

  /** The bucket's versioning state as the store reports it ("Enabled", "Suspended", or "never enabled"). */
  async versioningState(): Promise<string> {
    const { client, sdk } = await this.connect();
    try {
      const res = await client.send(new sdk.GetBucketVersioningCommand({ Bucket: this.config.bucket }), { abortSignal: this.deadline(0) });
      return res.Status ?? "never enabled";
    } catch (err) {
      throw this.error("read the versioning state of", "", err);
    }
  }

  /** Nothing to sweep: an S3 object is visible only once complete, and failed multipart uploads are aborted. */
  async removeLeftovers(): Promise<number> {
    return 0;
  }

  /**
   * How long a request of `bytes` may take in all (its retries included): connecting, one
   * stall, and the bytes at the slowest rate that counts as alive.
   */
  private deadlineMs(bytes: number): number {
    return (this.config.connect_timeout + this.config.stall_timeout) * 1000 + Math.ceil((bytes / this.config.min_rate) * 1000);
  }

  private deadline(bytes: number): AbortSignal {
    const ms = this.deadlineMs(bytes);
    const controller = new AbortController();
    setTimeout(() => controller.abort(this.timeout(bytes)), ms).unref();
    return controller.signal;
  }

  private timeout(bytes: number): Error {
    const hint = bytes > 0 ? ` for ${bytes} bytes at the slowest rate that counts as alive (min_rate)` : " (connect_timeout + stall_timeout)";
    return new Error(`no answer within ${Math.round(this.deadlineMs(bytes) / 1000)} s${hint}`);
  }

  private error(action: string, what: string, err: unknown): OperationError {
    const e = err as S3ServiceException & { code?: string };
    if (e?.name === "AbortError" && (e as { cause?: unknown }).cause instanceof Error) return this.error(action, what, (e as { cause: Error }).cause);
    const status = e.$metadata?.httpStatusCode;
    const reason = e.name && e.name !== "Error" ? `${e.name}${status ? ` (HTTP ${status})` : ""}${e.message && e.message !== e.name ? `: ${e.message}` : ""}` : (e.code ?? e.message ?? String(err));
    return new OperationError(`target ${this.name}: cannot ${action} s3://${this.config.bucket}/${what}: ${reason}`, { cause: err });
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as S3ServiceException;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

function readCredential(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new OperationError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/**
 * Upload bodies are not hashed for the request signature (UNSIGNED-PAYLOAD, as S3
 * allows): the ETag check already proves every byte arrived, and signing would cost a
 * third hash pass over every byte.
 */
function unsignedUploads(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (UPLOADS.has(context.commandName ?? "") && request.headers) request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      return next(args);
    },
    { step: "build", name: "drdUnsignedUploads" },
  );
}
const UPLOADS = new Set(["UploadPartCommand", "PutObjectCommand"]);

const quiet = () => undefined;
const SILENT = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

function createClient(sdk: typeof import("@aws-sdk/client-s3"), name: string, config: S3TargetConfig): S3Client {
  const credentials =
    config.access_key_id_file && config.secret_access_key_file
      ? {
          accessKeyId: readCredential(config.access_key_id_file, `target ${name}: access_key_id_file`),
          secretAccessKey: readCredential(config.secret_access_key_file, `target ${name}: secret_access_key_file`),
        }
      : undefined;
  const checksums = config.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  return new sdk.S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.force_path_style ?? config.endpoint !== undefined,
    ...(credentials ? { credentials } : {}),
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    maxAttempts: 3,
    // drd reports every failure itself, in one line. The SDK would print a warning of its own
    // when a streamed part fails (drd then sends that part again from its buffer).
    logger: SILENT,
    // socketTimeout: no byte moving for this long fails the request. (The handler's
    // requestTimeout only logs a warning; each request's deadline is drd's own abort signal.)
    requestHandler: { connectionTimeout: config.connect_timeout * 1000, socketTimeout: config.stall_timeout * 1000 },
  });
}
