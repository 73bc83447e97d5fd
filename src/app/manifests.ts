import type { BackupWithCopies } from "../catalog/catalog.js";
import { MANIFEST_FORMAT, manifestSize, type Manifest } from "../manifest.js";
import { sha256Hex } from "../pipeline/digest.js";
import { backupPrefix, MANIFEST_NAME, SIGNATURE_NAME, type Target } from "../targets/target.js";
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

/**
 * Reads every backup's manifest on a target: what a bare machine with only the config
 * and the storage knows. A backup without its manifest is not a backup and is not listed.
 * Each manifest's signature is checked against `trust`, and its job and id against where it
 * lies: a manifest signed for one place and found at another is untrusted (a replay).
 */
export async function readTargetManifests(ctx: AppContext, targetName: string, job?: string): Promise<ManifestRecord[]> {
  assertTarget(ctx, targetName);
  const target = ctx.targets.get(targetName);
  // Loaded here: the OpenPGP code is needed only by what reads a target's manifests.
  const { TrustStore } = await import("../trust/signing.js");
  const trust = await TrustStore.load(ctx.config);
  const objects = await target.list(job ? `${job}/` : "");
  const signed = new Set(objects.filter((o) => o.key.endsWith(`/${SIGNATURE_NAME}`)).map((o) => o.key));
  const records: ManifestRecord[] = [];
  for (const o of objects) {
    const parts = o.key.split("/");
    if (parts.length !== 3 || parts[2] !== MANIFEST_NAME) continue;
    const text = await readText(target, o.key);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(text) as Manifest;
    } catch {
      continue; // not drd's, or damaged: verify reports it, list leaves it out
    }
    if (manifest.format !== MANIFEST_FORMAT) continue;
    const sigKey = `${parts[0]}/${parts[1]}/${SIGNATURE_NAME}`;
    const signature = signed.has(sigKey) ? await readText(target, sigKey) : null;
    const check = await trust.check(text, signature ?? undefined);
    const place = `${manifest.job}/${manifest.id}`;
    const found = `${parts[0]}/${parts[1]}`;
    const trustState: ManifestRecord["trust"] = !check.ok
      ? { trusted: false, reason: check.reason }
      : place !== found
        ? { trusted: false, reason: `its manifest was signed for ${place}, not for ${found} (moved or replayed)` }
        : { trusted: true, signer: check.signer };
    // An entry is listed under the place it lies, whatever its manifest claims.
    if (place !== found) manifest = { ...manifest, job: parts[0]!, id: parts[1]! };
    records.push({ manifest, text, sha256: sha256Hex(text), signature, moved: place !== found, trust: trustState });
  }
  return records.sort((a, b) => Date.parse(b.manifest.snapshot_at) - Date.parse(a.manifest.snapshot_at));
}

async function readText(target: Target, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await target.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
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

/** Adds to the catalog every backup on the target it does not know, and the copy on that target of those it does. */
export async function rebuildCatalog(ctx: AppContext, targetName: string, options: { allowUnsigned?: boolean } = {}): Promise<{ added: number; copies: number; known: number; untrusted: { id: string; reason: string }[] }> {
  const records = await readTargetManifests(ctx, targetName);
  const result = { added: 0, copies: 0, known: 0, untrusted: [] as { id: string; reason: string }[] };
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
      ctx.catalog.recordBackup(backup, copies);
      result.added++;
    } else if (!existing.copies.some((c) => c.target === targetName)) {
      ctx.catalog.addCopy(row.copies[0]!);
      result.copies++;
    } else {
      result.known++;
    }
  }
  ctx.catalog.addEvent({ at: ctx.now(), kind: "catalog_rebuilt", target: targetName, detail: JSON.stringify(result) });
  audit(ctx, { event: "catalog_rebuild", outcome: "ok", target: targetName, detail: { added: result.added, copies: result.copies, known: result.known, untrusted: result.untrusted.length, allow_unsigned: options.allowUnsigned ?? false } });
  return result;
}
