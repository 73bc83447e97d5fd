import { join } from "node:path";
import { appendAudit, currentActor, verifyAudit, type AuditAnchor, type AuditEntry, type ChainCheck } from "../audit/trail.js";
import { parseManifest } from "../catalog/catalog.js";
import type { Config } from "../config/schema.js";
import { assertTarget, type AppContext } from "./context.js";
import type { ManifestRecord } from "./manifests.js";

export function auditPath(config: Config): string {
  return config.audit?.path ?? join(config.state_dir, "audit.jsonl");
}

/**
 * Records one entry in the audit trail, under the catalog's write lock so concurrent drctl
 * processes chain in turn, and anchors the trail's new head in the catalog.
 */
export function audit(ctx: AppContext, entry: AuditEntry): void {
  ctx.catalog.db
    .transaction(() => {
      const anchor = appendAudit(auditPath(ctx.config), entry, ctx.now(), currentActor(), ctx.catalog.auditAnchor());
      ctx.catalog.setAuditAnchor(anchor, ctx.now());
    })
    .immediate();
}

export interface TrailVerification {
  path: string;
  /** What the trail was compared with: the catalog's anchor, signed manifests. */
  compared: string[];
  check: ChainCheck;
}

/**
 * Checks the trail's chain, then that it still reaches every anchor: the catalog's (after
 * each append), the one in the newest manifest each job made here, and with `from` the one
 * in the newest trusted manifest of each job on that target (for a catalog that was lost).
 */
export async function verifyTrail(ctx: AppContext, options: { from?: string } = {}): Promise<TrailVerification> {
  const anchors: { source: string; anchor: AuditAnchor }[] = [];
  const own = ctx.catalog.auditAnchor();
  if (own) anchors.push({ source: "the catalog", anchor: own });
  for (const row of ctx.catalog.newestOwnManifests()) {
    const m = parseManifest(row);
    if (m.audit) anchors.push({ source: `the manifest of backup ${row.id}`, anchor: m.audit });
  }
  if (options.from) {
    assertTarget(ctx, options.from);
    const { readTargetManifests } = await import("./manifests.js");
    const { records } = await readTargetManifests(ctx, options.from);
    const newest = new Map<string, ManifestRecord>();
    for (const r of records) if (r.trust.trusted && r.manifest.audit && !newest.has(r.manifest.job)) newest.set(r.manifest.job, r);
    for (const r of newest.values()) anchors.push({ source: `the signed manifest of backup ${r.manifest.id} on ${options.from}`, anchor: r.manifest.audit! });
  }
  const path = auditPath(ctx.config);
  return { path, compared: anchors.map((a) => a.source), check: verifyAudit(path, anchors) };
}
