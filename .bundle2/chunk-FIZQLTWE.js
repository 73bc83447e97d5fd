import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  appendAudit
} from "./chunk-GBB4INLM.js";

// dist/app/audit.js
import { join } from "node:path";
function auditPath(config) {
  return config.audit?.path ?? join(config.state_dir, "audit.jsonl");
}
function audit(ctx, entry) {
  ctx.catalog.db.transaction(() => appendAudit(auditPath(ctx.config), entry, ctx.now())).immediate();
}

export {
  auditPath,
  audit
};
