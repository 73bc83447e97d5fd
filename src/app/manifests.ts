import type { BackupWithCopies } from "../catalog/catalog.js";
import { OperationError } from "../errors.js";
import { MANIFEST_FORMAT, manifestSize, type Manifest } from "../manifest.js";
import { sha256Hex } from "../pipeline/digest.js";
import { backupPrefix, MANIFEST_NAME } from "../targets/target.js";
import type { AppContext } from "./context.js";

export interface ManifestRecord {
  manifest: Manifest;
  text: string;
  sha256: string;
}

/**
 * Reads every backup's manifest on a target: what a bare machine with only the config
 * and the storage knows. A backup without its manifest is not a backup and is not listed.
 */
export async function readTargetManifests(ctx: AppContext, targetName: string, job?: string): Promise<ManifestRecord[]> {
  if (!(targetName in ctx.config.targets)) throw new OperationError(`unknown target "${targetName}"`);
  const target = ctx.targets.get(targetName);
  const objects = await target.list(job ? `${job}/` : "");
  const records: ManifestRecord[] = [];
  for (const o of objects) {
    const parts = o.key.split("/");
    if (parts.length !== 3 || parts[2] !== MANIFEST_NAME) continue;
    const chunks: Buffer[] = [];
    for await (const chunk of await target.get(o.key)) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let manifest: Manifest;
    try {
      manifest = JSON.parse(text) as Manifest;
    } catch {
      continue; // not drd's, or damaged: verify reports it, list leaves it out
    }
    if (manifest.format !== MANIFEST_FORMAT || `${manifest.job}/${manifest.id}/${MANIFEST_NAME}` !== o.key) continue;
    records.push({ manifest, text, sha256: sha256Hex(text) });
  }
  return records.sort((a, b) => Date.parse(b.manifest.snapshot_at) - Date.parse(a.manifest.snapshot_at));
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
export async function rebuildCatalog(ctx: AppContext, targetName: string): Promise<{ added: number; copies: number; known: number }> {
  const records = await readTargetManifests(ctx, targetName);
  const result = { added: 0, copies: 0, known: 0 };
  for (const record of records) {
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
  return result;
}
