import type { BackupWithCopies } from "../catalog/catalog.js";
import { checkManifest, MANIFEST_MAX_BYTES, manifestSize, SIGNATURE_MAX_BYTES, type Manifest } from "../manifest.js";
import { sha256Hex } from "../pipeline/digest.js";
import { backupPrefix, MANIFEST_NAME, SIGNATURE_NAME, type Target } from "../targets/target.js";
import { describeError } from "../errors.js";
import { audit } from "./audit.js";
import { assertTarget, type AppContext } from "./context.js";

export interface ManifestRecord {
  manifest: Manifest;
  text: string;
  sha256: string;
  /** The armored signature beside the manifest, if any. */
  signature: string | null;
  /** The manifest names another job or id than where it lies (its `manifest` is relabelled to the place). */
  moved: boolean;
  /** Whether a trusted key signed this manifest for this place; why not, when not. */
  trust: { trusted: true; signer: string } | { trusted: false; reason: string };
}

/** A backup's place on a target whose manifest cannot be used: too big, unreadable, not drd's, malformed. */
export interface InvalidManifest {
  job: string;
  id: string;
  reason: string;
}

export interface TargetManifests {
  /** Newest first. */
  records: ManifestRecord[];
  invalid: InvalidManifest[];
  /** Backups whose manifest a delete without a version id hid (a versioned, Object Lock target): deleted, yet kept. */
  hidden: InvalidManifest[];
  /** What could not be checked (a store that would not list its versions). */
  warnings: string[];
}

/**
 * Reads every backup's manifest on a target: what a bare machine with only the config
 * and the storage knows. A backup without its manifest is not a backup and is not listed.
 * Every manifest and signature is untrusted input: each is bounded before it is read and
 * checked before it is used, and one that fails is reported `invalid` and never stops the
 * others. Each signature is checked against `trust`, and each manifest's job and id against
 * where it lies: a manifest signed for one place and found at another is untrusted (a replay).
 */
export async function readTargetManifests(ctx: AppContext, targetName: string, job?: string): Promise<TargetManifests> {
  assertTarget(ctx, targetName);
  const target = ctx.targets.get(targetName);
  // Loaded here: the OpenPGP code is needed only by what reads a target's manifests.
  const { TrustStore } = await import("../trust/signing.js");
  const trust = await TrustStore.load(ctx.config);
  const objects = await target.list(job ? `${job}/` : "");
  const signatures = new Map(objects.filter((o) => o.key.endsWith(`/${SIGNATURE_NAME}`)).map((o) => [o.key, o.size]));
  const records: ManifestRecord[] = [];
  const invalid: InvalidManifest[] = [];
  for (const o of objects) {
    const parts = o.key.split("/");
    if (parts.length !== 3 || parts[2] !== MANIFEST_NAME) continue;
    const [placeJob, placeId] = parts as [string, string, string];
    const read = await readBounded(target, o.key, o.size, MANIFEST_MAX_BYTES);
    const check = typeof read === "string" ? checkManifest(read) : { ok: false as const, reason: read.reason };
    if (typeof read !== "string" || !check.ok) {
      invalid.push({ job: placeJob, id: placeId, reason: `its manifest is invalid: ${check.ok ? "" : check.reason}` });
      continue;
    }
    const text = read;
    let manifest = check.manifest;
    const sigKey = `${placeJob}/${placeId}/${SIGNATURE_NAME}`;
    const sigSize = signatures.get(sigKey);
    const signature = sigSize === undefined ? undefined : await readBounded(target, sigKey, sigSize, SIGNATURE_MAX_BYTES);
    const verdict =
      typeof signature === "object" ? { ok: false as const, reason: `its signature is invalid: ${signature.reason}` } : await trust.check(text, signature, { job: placeJob, target: targetName, at: Date.parse(manifest.snapshot_at) });
    const place = `${manifest.job}/${manifest.id}`;
    const found = `${placeJob}/${placeId}`;
    const trustState: ManifestRecord["trust"] = !verdict.ok
      ? { trusted: false, reason: verdict.reason }
      : place !== found
        ? { trusted: false, reason: `its manifest was signed for ${place}, not for ${found} (moved or replayed)` }
        : { trusted: true, signer: verdict.signer };
    // An entry is listed under the place it lies, whatever its manifest claims.
    if (place !== found) manifest = { ...manifest, job: placeJob, id: placeId };
    records.push({ manifest, text, sha256: sha256Hex(text), signature: typeof signature === "string" ? signature : null, moved: place !== found, trust: trustState });
  }
  records.sort((a, b) => Date.parse(b.manifest.snapshot_at) - Date.parse(a.manifest.snapshot_at));
  const config = ctx.config.targets[targetName]!;
  const hidden: InvalidManifest[] = [];
  const warnings: string[] = [];
  if (config.type === "s3" && config.object_lock && target.hidden) {
    const keys = await target.hidden(job ? `${job}/` : "").catch((err: unknown) => {
      warnings.push(`${targetName} would not list its versions, so a backup hidden behind a delete marker cannot be seen: ${describeError(err)}`);
      return [] as string[];
    });
    for (const key of keys) {
      const parts = key.split("/");
      if (parts.length !== 3 || parts[2] !== MANIFEST_NAME) continue;
      hidden.push({ job: parts[0]!, id: parts[1]!, reason: "it was deleted without its version id: Object Lock keeps it behind a delete marker (its versions can still be read)" });
    }
  }
  return { records, invalid, hidden, warnings };
}

/**
 * An object's text, read only when the listing says it is within `max` bytes, and cut off
 * should it grow past that while being read.
 */
export async function readBounded(target: Target, key: string, listedSize: number, max: number): Promise<string | { reason: string }> {
  if (listedSize > max) return { reason: `it is ${listedSize} bytes, more than the ${max} allowed` };
  const chunks: Buffer[] = [];
  let total = 0;
  const source = await target.get(key);
  for await (const chunk of source) {
    total += (chunk as Buffer).length;
    if (total > max) {
      source.destroy();
      return { reason: `it is more than the ${max} bytes allowed` };
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text;
}

/** A catalog-shaped row for a manifest read from a target: one copy, there, present but not re-read. */
export function rowFromManifest(ctx: AppContext, targetName: string, record: ManifestRecord): BackupWithCopies {
  const m = record.manifest;
  return {
    id: m.id,
    job: m.job,
    kind: m.kind,
    run_id: null,
    snapshot_at: Date.parse(m.snapshot_at),
    finished_at: Date.parse(m.finished_at),
    size: manifestSize(m),
    sha256: record.sha256,
    encryption: m.encryption ? JSON.stringify(m.encryption) : null,
    manifest: record.text,
    signature: record.signature,
    copies: [
      {
        backup_id: m.id,
        target: targetName,
        location: ctx.targets.get(targetName).locate(backupPrefix(m.job, m.id)),
        state: "written",
        written_at: Date.parse(m.finished_at),
        verified_at: null,
        error: null,
        attempts: 0,
        next_attempt_at: null,
      },
    ],
  };
}

/**
 * Adds to the catalog every backup on the target it does not know, and the copy on that target
 * of those it does; with `job`, only that job's (what a drill host reads before each drill).
 */
export async function rebuildCatalog(ctx: AppContext, targetName: string, options: { allowUnsigned?: boolean; job?: string } = {}): Promise<{ added: number; copies: number; known: number; untrusted: { id: string; reason: string }[]; invalid: { id: string; reason: string }[] }> {
  const { records, invalid, hidden } = await readTargetManifests(ctx, targetName, options.job);
  const result = { added: 0, copies: 0, known: 0, untrusted: [] as { id: string; reason: string }[], invalid: [...invalid, ...hidden].map((i) => ({ id: `${i.job}/${i.id}`, reason: i.reason })) };
  for (const record of records) {
    if (!record.trust.trusted) {
      // Never recorded as this server's own unless the operator says so; then the event says it.
      result.untrusted.push({ id: `${record.manifest.job}/${record.manifest.id}`, reason: record.trust.reason });
      // A manifest found at another place than it names is never added: its text would lie about it.
      if (!options.allowUnsigned || record.moved) continue;
      ctx.catalog.addEvent({ at: ctx.now(), kind: "untrusted_added", job: record.manifest.job, backup_id: record.manifest.id, target: targetName, detail: record.trust.reason });
    }
    const row = rowFromManifest(ctx, targetName, record);
    const existing = ctx.catalog.getBackup(row.id);
    if (!existing) {
      const { copies, ...backup } = row;
      // Admitted, and marked for ever: no later command takes it for one of this server's own.
      ctx.catalog.recordBackup({ ...backup, untrusted: record.trust.trusted ? null : record.trust.reason }, copies);
      result.added++;
    } else if (!existing.copies.some((c) => c.target === targetName)) {
      ctx.catalog.addCopy(row.copies[0]!);
      result.copies++;
    } else {
      result.known++;
    }
  }
  ctx.catalog.addEvent({ at: ctx.now(), kind: "catalog_rebuilt", ...(options.job ? { job: options.job } : {}), target: targetName, detail: JSON.stringify(result) });
  audit(ctx, { event: "catalog_rebuild", outcome: "ok", target: targetName, detail: { added: result.added, copies: result.copies, known: result.known, untrusted: result.untrusted.length, invalid: result.invalid.length, allow_unsigned: options.allowUnsigned ?? false } });
  return result;
}
