import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/pipeline/digest.js
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
var DigestStream = class extends Transform {
  hash = createHash("sha256");
  bytes = 0;
  _transform(chunk, _enc, done) {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
  /** Valid once the stream has finished. */
  hex() {
    return this.hash.copy().digest("hex");
  }
};
function sha256Hex(data) {
  return createHash("sha256").update(data).digest("hex");
}

// dist/targets/target.js
var MANIFEST_NAME = "manifest.json";
var SIGNATURE_NAME = "manifest.json.sig";
function backupPrefix(job, backupId) {
  return `${job}/${backupId}/`;
}
var ObjectNotFoundError = class extends Error {
  location;
  constructor(location) {
    super(`${location} does not exist`);
    this.location = location;
  }
};
function assertSafeKey(key) {
  const parts = key.split("/");
  if (!key || key.startsWith("/") || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new Error(`unsafe object key ${JSON.stringify(key)}`);
}

export {
  DigestStream,
  sha256Hex,
  MANIFEST_NAME,
  SIGNATURE_NAME,
  backupPrefix,
  ObjectNotFoundError,
  assertSafeKey
};
