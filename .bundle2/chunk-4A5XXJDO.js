import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  DigestStream,
  ObjectNotFoundError,
  assertSafeKey
} from "./chunk-GBAX6DVE.js";
import {
  OperationError
} from "./chunk-RSPIC3EP.js";

// dist/targets/s3.js
import { readFileSync } from "node:fs";

// dist/targets/etag.js
import { createHash } from "node:crypto";
function etagVerifies(stored, partMd5s) {
  if (stored.object === void 0)
    return false;
  const ours = partMd5s.length > 0 ? partMd5s : [createHash("md5").digest()];
  const object = clean(stored.object);
  if (ours.length === 1 && object === ours[0].toString("hex"))
    return true;
  if (object === compositeEtag(ours))
    return true;
  return stored.parts.size === ours.length && ours.every((d, i) => clean(stored.parts.get(i + 1) ?? "") === d.toString("hex"));
}
function compositeEtag(parts) {
  return `${createHash("md5").update(Buffer.concat(parts)).digest("hex")}-${parts.length}`;
}
function clean(etag) {
  return etag.replace(/"/g, "").toLowerCase();
}

// dist/targets/s3-upload.js
import { createHash as createHash2 } from "node:crypto";
var FIRST_PART_SIZE = 5 * 1024 * 1024;
async function uploadStream(data, o) {
  const { client, sdk, params } = o;
  const cancel = new AbortController();
  const sending = { abortSignal: cancel.signal };
  let uploadId;
  const startUpload = () => (
    // Never cancelled: an upload the store created must be known, to be aborted.
    uploadId ??= client.send(new sdk.CreateMultipartUploadCommand(params)).then((r) => {
      if (!r.UploadId)
        throw new Error("the store gave no UploadId");
      return r.UploadId;
    })
  );
  if (o.startAtOnce)
    startUpload().catch(() => void 0);
  const partMd5s = [];
  const parts = [];
  const inFlight = /* @__PURE__ */ new Set();
  const spare = [];
  let failure;
  const sendPart = (partNumber2, buffer, length) => {
    const body = buffer.subarray(0, length);
    const md5 = createHash2("md5").update(body).digest();
    partMd5s[partNumber2 - 1] = md5;
    const sent = (async () => {
      const UploadId = await startUpload();
      const input = { Bucket: params.Bucket, Key: params.Key, UploadId, PartNumber: partNumber2, Body: body, ContentLength: length };
      const res = await client.send(new sdk.UploadPartCommand(o.contentMd5 ? { ...input, ContentMD5: md5.toString("base64") } : input), sending);
      parts[partNumber2 - 1] = { PartNumber: partNumber2, ETag: res.ETag };
    })().catch((err) => {
      failure ??= err;
      cancel.abort();
    }).finally(() => {
      inFlight.delete(sent);
      spare.push(buffer);
    });
    inFlight.add(sent);
  };
  const slotFree = async () => {
    while (inFlight.size >= o.partsInFlight && failure === void 0)
      await Promise.race(inFlight);
    if (failure !== void 0)
      throw failure;
  };
  let current = Buffer.allocUnsafe(Math.max(FIRST_PART_SIZE, o.partSize));
  let filled = 0;
  let partNumber = 1;
  let bytes = 0;
  try {
    for await (const piece of data) {
      const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
      for (let offset = 0; offset < chunk.length; ) {
        const limit = partNumber === 1 ? Math.min(FIRST_PART_SIZE, o.partSize) : o.partSize;
        const take = Math.min(limit - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + take);
        filled += take;
        offset += take;
        bytes += take;
        if (filled === limit) {
          await slotFree();
          sendPart(partNumber++, current, filled);
          current = spare.pop() ?? Buffer.allocUnsafe(o.partSize);
          filled = 0;
        }
      }
    }
    if (partNumber === 1)
      return await putWhole(current.subarray(0, filled));
    if (filled > 0) {
      await slotFree();
      sendPart(partNumber++, current, filled);
    }
    await Promise.all(inFlight);
    if (failure !== void 0)
      throw failure;
    await o.beforeComplete?.();
    const done = await client.send(new sdk.CompleteMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: await startUpload(), MultipartUpload: { Parts: parts } }));
    const etags = new Map(parts.map((p) => [p.PartNumber, p.ETag ?? ""]));
    return { bytes, partMd5s, etags: { object: done.ETag, parts: etags }, version: done.VersionId };
  } catch (err) {
    const cause = failure ?? err;
    cancel.abort();
    await Promise.all(inFlight);
    if (uploadId)
      await abortUpload();
    throw cause;
  }
  async function putWhole(body) {
    if (uploadId)
      await abortUpload();
    uploadId = void 0;
    const md5 = createHash2("md5").update(body).digest();
    await o.beforeComplete?.();
    const done = await client.send(new sdk.PutObjectCommand({ ...params, Body: body, ContentLength: body.length, ...o.contentMd5 ? { ContentMD5: md5.toString("base64") } : {} }));
    return { bytes, partMd5s: [md5], etags: { object: done.ETag, parts: /* @__PURE__ */ new Map() }, version: done.VersionId };
  }
  async function abortUpload() {
    const id = await uploadId.catch(() => void 0);
    if (!id)
      return;
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: id })).catch(() => void 0);
  }
}

// dist/targets/s3.js
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
var PART_SIZE = 8 * 1024 * 1024;
var PARTS_IN_FLIGHT = 2;
var MAX_PARTS = 1e4;
function partSizeFor(expectedSize) {
  const needed = Math.ceil((expectedSize ?? 0) * 2 / MAX_PARTS / (1 << 20)) * (1 << 20);
  return Math.max(PART_SIZE, needed);
}
var DELETE_BATCH = 1e3;
var S3Target = class {
  name;
  config;
  prefix;
  connection;
  constructor(name, config) {
    this.name = name;
    this.config = config;
    this.prefix = config.prefix && !config.prefix.endsWith("/") ? `${config.prefix}/` : config.prefix;
  }
  connect() {
    this.connection ??= import("./dist-cjs-XQL4F5NG.js").then((sdk) => {
      const client = createClient(sdk, this.name, this.config);
      unsignedUploads(client);
      return { client, sdk };
    });
    return this.connection;
  }
  locate(keyOrPrefix) {
    return `s3://${this.config.bucket}/${this.prefix}${keyOrPrefix.replace(/\/$/, "")}`;
  }
  objectKey(key) {
    assertSafeKey(key);
    return this.prefix + key;
  }
  async put(key, data, options = {}) {
    const objectKey = this.objectKey(key);
    const partSize = partSizeFor(options.expectedSize);
    const digest = options.sameBytesAs ? void 0 : new DigestStream();
    if (digest)
      data.once("error", (err) => digest.destroy(err));
    const body = digest ? data.pipe(digest) : data;
    const params = { Bucket: this.config.bucket, Key: objectKey };
    if (this.config.storage_class)
      params.StorageClass = this.config.storage_class;
    const sse = this.config.server_side_encryption;
    if (sse) {
      params.ServerSideEncryption = sse.algorithm;
      if (sse.kms_key_id)
        params.SSEKMSKeyId = sse.kms_key_id;
    }
    const lock = this.config.object_lock;
    if (lock) {
      params.ObjectLockMode = lock.mode;
      params.ObjectLockRetainUntilDate = new Date(Date.now() + lock.days * 864e5);
    }
    let uploaded;
    try {
      const { client, sdk } = await this.connect();
      uploaded = await uploadStream(body, {
        client,
        sdk,
        params,
        partSize,
        partsInFlight: PARTS_IN_FLIGHT,
        startAtOnce: (options.expectedSize ?? 0) > FIRST_PART_SIZE,
        contentMd5: lock !== void 0,
        // The source says whether its bytes are whole before the object becomes visible.
        beforeComplete: options.ready
      });
    } catch (err) {
      data.destroy();
      throw err instanceof OperationError ? err : this.error("upload", objectKey, err);
    }
    const storeVerified = etagVerifies(uploaded.etags, uploaded.partMd5s);
    const versioned = uploaded.version ? { version: uploaded.version } : {};
    if (digest)
      return { size: digest.bytes, sha256: digest.hex(), storeVerified, ...versioned };
    const twin = await options.sameBytesAs;
    if (twin.size !== uploaded.bytes) {
      await this.delete([key]).catch(() => void 0);
      throw new OperationError(`target ${this.name}: ${objectKey} got ${uploaded.bytes} bytes, the primary copy ${twin.size}`);
    }
    return { size: uploaded.bytes, sha256: twin.sha256, storeVerified, ...versioned };
  }
  async get(key, version) {
    const objectKey = this.objectKey(key);
    const { client, sdk } = await this.connect();
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.config.bucket, Key: objectKey, ...version ? { VersionId: version } : {} }));
      return res.Body;
    } catch (err) {
      if (isNotFound(err))
        throw new ObjectNotFoundError(this.locate(key));
      throw this.error("read", objectKey, err);
    }
  }
  async stat(key) {
    const objectKey = this.objectKey(key);
    const { client, sdk } = await this.connect();
    try {
      const res = await client.send(new sdk.HeadObjectCommand({ Bucket: this.config.bucket, Key: objectKey }));
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err))
        return void 0;
      throw this.error("stat", objectKey, err);
    }
  }
  async list(prefix) {
    const { client, sdk } = await this.connect();
    const out = [];
    let token;
    do {
      let res;
      try {
        res = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      } catch (err) {
        throw this.error("list", this.prefix + prefix, err);
      }
      for (const o of res.Contents ?? []) {
        if (o.Key)
          out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : void 0;
    } while (token);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
  async delete(keys) {
    const { client, sdk } = await this.connect();
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH).map((k) => ({ Key: this.objectKey(k) }));
      let res;
      try {
        res = await client.send(new sdk.DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: batch, Quiet: true } }));
      } catch (err) {
        throw this.error("delete", `${batch.length} objects`, err);
      }
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
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
  async lockProblem() {
    const lock = this.config.object_lock;
    if (!lock)
      return void 0;
    const { client, sdk } = await this.connect();
    const bucket = this.config.bucket;
    try {
      const res = await client.send(new sdk.GetObjectLockConfigurationCommand({ Bucket: bucket }));
      if (res.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled")
        return void 0;
      return `bucket ${bucket} does not have Object Lock enabled: uploads ask for ${lock.mode} retention of ${lock.days} days that it will not keep`;
    } catch (err) {
      const e = err;
      if (e.name === "ObjectLockConfigurationNotFoundError")
        return `bucket ${bucket} has no Object Lock configuration: uploads ask for ${lock.mode} retention of ${lock.days} days that it will not keep (create the bucket with Object Lock, which also enables versioning)`;
      return `could not read the Object Lock configuration of bucket ${bucket} (${this.error("read", bucket, err).message.replace(/^.*: /, "")}): drd cannot tell whether the lock it asks for is kept`;
    }
  }
  /** The bucket's versioning state as the store reports it ("Enabled", "Suspended", or "never enabled"). */
  async versioningState() {
    const { client, sdk } = await this.connect();
    try {
      const res = await client.send(new sdk.GetBucketVersioningCommand({ Bucket: this.config.bucket }));
      return res.Status ?? "never enabled";
    } catch (err) {
      throw this.error("read the versioning state of", "", err);
    }
  }
  /** Nothing to sweep: an S3 object is visible only once complete, and failed multipart uploads are aborted. */
  async removeLeftovers() {
    return 0;
  }
  error(action, what, err) {
    const e = err;
    const status = e.$metadata?.httpStatusCode;
    const reason = e.name && e.name !== "Error" ? `${e.name}${status ? ` (HTTP ${status})` : ""}${e.message && e.message !== e.name ? `: ${e.message}` : ""}` : e.code ?? e.message ?? String(err);
    return new OperationError(`target ${this.name}: cannot ${action} s3://${this.config.bucket}/${what}: ${reason}`, { cause: err });
  }
};
function isNotFound(err) {
  const e = err;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}
function readCredential(path, what) {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new OperationError(`cannot read ${what} ${path}: ${err.code ?? err}`);
  }
}
function unsignedUploads(client) {
  client.middlewareStack.add((next, context) => async (args) => {
    const request = args.request;
    if (UPLOADS.has(context.commandName ?? "") && request.headers)
      request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    return next(args);
  }, { step: "build", name: "drdUnsignedUploads" });
}
var UPLOADS = /* @__PURE__ */ new Set(["UploadPartCommand", "PutObjectCommand"]);
function createClient(sdk, name, config) {
  const credentials = config.access_key_id_file && config.secret_access_key_file ? {
    accessKeyId: readCredential(config.access_key_id_file, `target ${name}: access_key_id_file`),
    secretAccessKey: readCredential(config.secret_access_key_file, `target ${name}: secret_access_key_file`)
  } : void 0;
  const checksums = config.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  return new sdk.S3Client({
    region: config.region,
    ...config.endpoint ? { endpoint: config.endpoint } : {},
    forcePathStyle: config.force_path_style ?? config.endpoint !== void 0,
    ...credentials ? { credentials } : {},
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5e3, requestTimeout: 12e4 }
  });
}

export {
  partSizeFor,
  S3Target
};
