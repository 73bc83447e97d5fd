import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClusterJobConfig } from "../config/schema.js";
import { describeError, OperationError } from "../errors.js";
import { compress, compressionExtension } from "../pipeline/compress.js";
import { DigestStream } from "../pipeline/digest.js";
import { createEncryptor } from "../pipeline/encrypt.js";
import { loadSigner } from "../trust/signing.js";
import { isCompleteWalFile, spoolDir, WAL_RECORD_FORMAT, walPrefix, type WalRecord } from "../wal/layout.js";
import type { AppContext } from "./context.js";

export interface ArchiveResult {
  /** WAL files now on every target of the job, removed from the spool. */
  stored: string[];
  /** A target that refused one: the file stays in the spool and is tried again. */
  failed: { name: string; target: string; error: string }[];
}

/**
 * Moves the completed WAL files pg_receivewal left in the job's spool to every target of
 * the job, oldest first: each compressed (and encrypted) once into a staged file, put on
 * each target, then its record and the record's signature beside it; recorded in the
 * catalog per target. A file leaves the spool only once every target holds it; one a target
 * refused stays, and the files after it are still stored (the order on a target does not
 * matter, only that none is missing, which the catalog and `verify` tell).
 */
export async function archiveSpool(ctx: AppContext, jobName: string, job: ClusterJobConfig, systemIdentifier: string, signal: AbortSignal): Promise<ArchiveResult> {
  const dir = spoolDir(ctx.config.state_dir, jobName);
  const names = (await readdir(dir).catch(() => [] as string[])).filter(isCompleteWalFile).sort();
  const result: ArchiveResult = { stored: [], failed: [] };
  if (names.length === 0) return result;
  const signer = ctx.config.signing ? await loadSigner(ctx.config.signing.key_file) : undefined;
  const encryptor = job.encrypt ? await createEncryptor(job.encrypt) : undefined;
  const stage = join(dir, ".stage");
  await mkdir(stage, { recursive: true, mode: 0o700 });
  for (const name of names) {
    signal.throwIfAborted();
    const objectName = `${name}${compressionExtension(job.compression)}${encryptor ? ".gpg" : ""}`;
    const staged = join(stage, objectName);
    const made = await stageFile(join(dir, name), staged, job, encryptor, signal);
    const record: WalRecord = {
      format: WAL_RECORD_FORMAT,
      job: jobName,
      name,
      object: { name: objectName, size: made.object.size, sha256: made.object.sha256 },
      content: made.content,
      compression: job.compression.algorithm,
      encryption: encryptor?.info.method ?? null,
      system_identifier: systemIdentifier,
      stored_at: new Date(ctx.now()).toISOString(),
    };
    const recordText = `${JSON.stringify(record, null, 2)}\n`;
    const signature = signer ? await signer.sign(recordText) : undefined;
    let everywhere = true;
    for (const targetName of job.targets) {
      if (ctx.catalog.walSegments(jobName, targetName).some((s) => s.name === name && s.sha256 === made.object.sha256)) continue;
      try {
        const target = ctx.targets.get(targetName);
        const prefix = walPrefix(jobName);
        const put = await target.put(prefix + objectName, createReadStream(staged), { signal, expectedSize: made.object.size });
        if (put.sha256 !== made.object.sha256) throw new OperationError(`the stored ${objectName} reads back as sha256 ${put.sha256}, not ${made.object.sha256}`);
        if (signature) await target.put(`${prefix}${name}.json.sig`, bufferStream(signature), { signal });
        // The record last: with it, the file counts as archived there.
        await target.put(`${prefix}${name}.json`, bufferStream(recordText), { signal });
        ctx.catalog.recordWalSegment({ job: jobName, name, target: targetName, size: made.object.size, sha256: made.object.sha256, stored_at: ctx.now() });
      } catch (err) {
        if (signal.aborted) throw err;
        everywhere = false;
        result.failed.push({ name, target: targetName, error: describeError(err) });
      }
    }
    await rm(staged, { force: true });
    if (everywhere) {
      await unlink(join(dir, name));
      result.stored.push(name);
    }
  }
  return result;
}

/** Compresses (and encrypts) `source` into `staged`, synced, with both sizes and sha256s. */
async function stageFile(source: string, staged: string, job: ClusterJobConfig, encryptor: Awaited<ReturnType<typeof createEncryptor>> | undefined, signal: AbortSignal) {
  const raw = new DigestStream();
  const stored = new DigestStream();
  void pipeline(createReadStream(source), raw).catch((err: Error) => raw.destroy(err));
  const compressed = compress(job.compression, raw, signal);
  const body = encryptor ? await encryptor.encrypt(compressed.output) : compressed.output;
  const temp = `${staged}.tmp`;
  await Promise.all([pipeline(body, stored, createWriteStream(temp, { mode: 0o600 }), { signal }), compressed.done]);
  const handle = await open(temp, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, staged);
  return { content: { size: raw.bytes, sha256: raw.hex() }, object: { size: stored.bytes, sha256: stored.hex() } };
}

function bufferStream(text: string) {
  return Readable.from([Buffer.from(text, "utf8")]);
}
