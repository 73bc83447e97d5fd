import { open, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { IntegrityError } from "../../errors.js";
import type { ArtifactEntry } from "../../manifest.js";
import { DigestStream } from "../../pipeline/digest.js";
import type { Target } from "../../targets/target.js";

/**
 * Downloads an artifact into `dir` and checks its size and sha256 before anything reads
 * it: a copy that does not match its record is refused (exit 3) and removed.
 */
export async function fetchVerified(
  target: Target,
  key: string,
  artifact: ArtifactEntry,
  dir: string,
  onBytes?: (done: number, total: number) => void,
): Promise<{ path: string; open: () => Readable }> {
  const path = join(dir, artifact.name);
  const digest = new DigestStream();
  if (onBytes) digest.on("data", () => onBytes(digest.bytes, artifact.size));
  const file = await open(path, "wx", 0o600);
  try {
    await pipeline(await target.get(key), digest, file.createWriteStream({ highWaterMark: 1 << 20 }));
  } finally {
    await file.close().catch(() => undefined);
  }
  if (digest.bytes !== artifact.size || digest.hex() !== artifact.sha256) {
    await rm(path, { force: true });
    throw new IntegrityError(
      `${artifact.name} from ${target.name} does not match its record: sha256 ${digest.hex()} (${digest.bytes} bytes), expected ${artifact.sha256} (${artifact.size} bytes); restore refused`,
    );
  }
  return { path, open: () => createReadStream(path, { highWaterMark: 1 << 20 }) };
}
