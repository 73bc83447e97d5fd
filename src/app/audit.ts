import { join } from "node:path";
import { appendAudit, type AuditEntry } from "../audit/trail.js";
import type { Config } from "../config/schema.js";
import type { AppContext } from "./context.js";

export function auditPath(config: Config): string {
  return config.audit?.path ?? join(config.state_dir, "audit.jsonl");
}

/** Records one entry in the audit trail, under the catalog's write lock so concurrent drctl processes chain in turn. */
export function audit(ctx: AppContext, entry: AuditEntry): void {
  ctx.catalog.db.transaction(() => appendAudit(auditPath(ctx.config), entry, ctx.now())).immediate();
}
