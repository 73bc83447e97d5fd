import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  DigestStream,
  MANIFEST_NAME,
  ObjectNotFoundError,
  SIGNATURE_NAME,
  backupPrefix,
  sha256Hex
} from "./chunk-GBAX6DVE.js";

// dist/app/check-copy.js
import { pipeline } from "node:stream/promises";
async function checkCopy(target, manifest, record) {
  const prefix = backupPrefix(manifest.job, manifest.id);
  const expected = [
    ...record.signature ? [{ name: SIGNATURE_NAME, sha256: sha256Hex(record.signature), size: void 0 }] : [],
    { name: MANIFEST_NAME, sha256: record.sha256, size: void 0 },
    ...manifest.artifacts.map((a) => ({ name: a.name, sha256: a.sha256, size: a.size }))
  ];
  for (const object of expected) {
    const digest = new DigestStream();
    try {
      await pipeline(await target.get(prefix + object.name, record.versions?.[object.name]), digest, async function* (source) {
        for await (const _ of source)
          void _;
      });
    } catch (err) {
      if (err instanceof ObjectNotFoundError)
        return { ok: false, state: "missing", problem: `${object.name} is missing` };
      throw err;
    }
    if (digest.hex() !== object.sha256 || object.size !== void 0 && digest.bytes !== object.size) {
      return {
        ok: false,
        state: "corrupt",
        problem: `${object.name}: sha256 ${digest.hex()} (${digest.bytes} bytes) does not match the recorded ${object.sha256}`
      };
    }
  }
  return { ok: true };
}

export {
  checkCopy
};
