import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  assertTarget
} from "./chunk-LJO7CHKX.js";
import {
  MANIFEST_NAME,
  SIGNATURE_NAME,
  backupPrefix,
  sha256Hex
} from "./chunk-GBAX6DVE.js";
import {
  audit
} from "./chunk-FIZQLTWE.js";

// dist/manifest.js
var MANIFEST_FORMAT = "drd-manifest/1";
function manifestSize(m) {
  return m.artifacts.reduce((sum, a) => sum + a.size, 0);
}

// dist/app/manifests.js
async function readTargetManifests(ctx, targetName, job) {
  assertTarget(ctx, targetName);
  const target = ctx.targets.get(targetName);
  const { TrustStore } = await import("./signing-CR5O7UXN.js");
  const trust = await TrustStore.load(ctx.config);
  const objects = await target.list(job ? `${job}/` : "");
  const signed = new Set(objects.filter((o) => o.key.endsWith(`/${SIGNATURE_NAME}`)).map((o) => o.key));
  const records = [];
  for (const o of objects) {
    const parts = o.key.split("/");
    if (parts.length !== 3 || parts[2] !== MANIFEST_NAME)
      continue;
    const text = await readText(target, o.key);
    let manifest;
    try {
      manifest = JSON.parse(text);
    } catch {
      continue;
    }
    if (manifest.format !== MANIFEST_FORMAT)
      continue;
    const sigKey = `${parts[0]}/${parts[1]}/${SIGNATURE_NAME}`;
    const signature = signed.has(sigKey) ? await readText(target, sigKey) : null;
    const check = await trust.check(text, signature ?? void 0);
    const place = `${manifest.job}/${manifest.id}`;
    const found = `${parts[0]}/${parts[1]}`;
    const trustState = !check.ok ? { trusted: false, reason: check.reason } : place !== found ? { trusted: false, reason: `its manifest was signed for ${place}, not for ${found} (moved or replayed)` } : { trusted: true, signer: check.signer };
    if (place !== found)
      manifest = { ...manifest, job: parts[0], id: parts[1] };
    records.push({ manifest, text, sha256: sha256Hex(text), signature, moved: place !== found, trust: trustState });
  }
  return records.sort((a, b) => Date.parse(b.manifest.snapshot_at) - Date.parse(a.manifest.snapshot_at));
}
async function readText(target, key) {
  const chunks = [];
  for await (const chunk of await target.get(key))
    chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
function rowFromManifest(ctx, targetName, record) {
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
        next_attempt_at: null
      }
    ]
  };
}
async function rebuildCatalog(ctx, targetName, options = {}) {
  const records = await readTargetManifests(ctx, targetName);
  const result = { added: 0, copies: 0, known: 0, untrusted: [] };
  for (const record of records) {
    if (!record.trust.trusted) {
      result.untrusted.push({ id: `${record.manifest.job}/${record.manifest.id}`, reason: record.trust.reason });
      if (!options.allowUnsigned || record.moved)
        continue;
      ctx.catalog.addEvent({ at: ctx.now(), kind: "untrusted_added", job: record.manifest.job, backup_id: record.manifest.id, target: targetName, detail: record.trust.reason });
    }
    const row = rowFromManifest(ctx, targetName, record);
    const existing = ctx.catalog.getBackup(row.id);
    if (!existing) {
      const { copies, ...backup } = row;
      ctx.catalog.recordBackup(backup, copies);
      result.added++;
    } else if (!existing.copies.some((c) => c.target === targetName)) {
      ctx.catalog.addCopy(row.copies[0]);
      result.copies++;
    } else {
      result.known++;
    }
  }
  ctx.catalog.addEvent({ at: ctx.now(), kind: "catalog_rebuilt", target: targetName, detail: JSON.stringify(result) });
  audit(ctx, { event: "catalog_rebuild", outcome: "ok", target: targetName, detail: { added: result.added, copies: result.copies, known: result.known, untrusted: result.untrusted.length, allow_unsigned: options.allowUnsigned ?? false } });
  return result;
}

export {
  MANIFEST_FORMAT,
  manifestSize,
  readTargetManifests,
  rowFromManifest,
  rebuildCatalog
};
