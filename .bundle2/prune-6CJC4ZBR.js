import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  prune
} from "./chunk-S5M7RAYS.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import {
  json,
  table
} from "./chunk-2VLLPNS3.js";
import "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/prune.js
async function pruneCommand(ctx, io, opts) {
  const report = await prune(ctx, { ...opts.dryRun ? { dryRun: true } : {}, ...opts.job ? { job: opts.job } : {} });
  if (opts.json) {
    io.out(json(report));
  } else {
    if (report.actions.length > 0)
      io.out(table(["TARGET", "BACKUP", "SNAPSHOT", "ACTION", "REASONS"], report.actions.map((a) => [a.target, a.backup_id, a.snapshot_at.replace(/\.\d+Z$/, "Z"), report.dry_run ? `would ${a.action}` : a.action, a.reasons.join("; ")])));
    if (report.dry_run)
      io.out(`would remove ${report.removed}, would keep ${report.kept}, would skip ${report.skipped} (dry run: nothing was deleted)`);
    else
      io.out(`removed ${report.removed}, kept ${report.kept}, skipped ${report.skipped}`);
  }
  for (const e of report.errors)
    io.err(`drctl: ${e}`);
  return report.errors.length > 0 ? 1 : 0;
}
export {
  pruneCommand
};
