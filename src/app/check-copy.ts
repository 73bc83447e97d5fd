import { pipeline } from "node:stream/promises";
import type { Manifest } from "../manifest.js";
import { DigestStream } from "../pipeline/digest.js";
import { sha256Hex } from "../pipeline/digest.js";
import { backupPrefix, MANIFEST_NAME, ObjectNotFoundError, SIGNATURE_NAME, type Target } from "../targets/target.js";

export type CopyCheck =
  | { ok: true }
  | { ok: false; state: "missing" | "corrupt"; problem: string };

/**
 * Re-reads every object of one copy and compares each with the sha256 the backup
 * recorded: the manifest with the backup's sha256 (and its signature with the one recorded),
 * each artifact with its manifest entry.
 */
export interface CopyRecord {
  /** sha256 of the manifest text. */
  sha256: string;
  signature?: string | null;
  /** The store's version of each object, by name, where it gave one: that version is read. */
  versions?: Record<string, string>;
}

export async function checkCopy(target: Target, manifest: Manifest, record: CopyRecord): Promise<CopyCheck> {
  const prefix = backupPrefix(manifest.job, manifest.id);
  const expected = [
    ...(record.signature ? [{ name: SIGNATURE_NAME, sha256: sha256Hex(record.signature), size: undefined as number | undefined }] : []),
    { name: MANIFEST_NAME, sha256: record.sha256, size: undefined as number | undefined },
    ...manifest.artifacts.map((a) => ({ name: a.name, sha256: a.sha256, size: a.size as number | undefined })),
  ];
  for (const object of expected) {
    const digest = new DigestStream();
    try {
      await pipeline(await target.get(prefix + object.name, record.versions?.[object.name]), digest, async function* (source) {
        for await (const _ of source) void _;
      });
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return { ok: false, state: "missing", problem: `${object.name} is missing` };
      throw err;
    }
    if (digest.hex() !== object.sha256 || (object.size !== undefined && digest.bytes !== object.size)) {
      return {
        ok: false,
        state: "corrupt",
        problem: `${object.name}: sha256 ${digest.hex()} (${digest.bytes} bytes) does not match the recorded ${object.sha256}`,
      };
    }
  }
  return { ok: true };
}
