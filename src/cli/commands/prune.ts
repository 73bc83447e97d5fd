import type { AppContext } from "../../app/context.js";
import { prune } from "../../app/prune.js";
import type { Output } from "../io.js";
import { json, table } from "../render.js";

/** Prints the plan (every backup with its action and reasons), then applies it unless --dry-run. */
export async function pruneCommand(ctx: AppContext, io: Output, opts: { dryRun?: boolean; job?: string; json?: boolean }): Promise<number> {
  const report = await prune(ctx, { ...(opts.dryRun ? { dryRun: true } : {}), ...(opts.job ? { job: opts.job } : {}) });
  if (opts.json) {
    io.out(json(report));
  } else {
    if (report.actions.length > 0)
      io.out(table(["TARGET", "BACKUP", "ACTION", "REASONS"], report.actions.map((a) => [a.target, a.backup_id, report.dry_run ? `would ${a.action}` : a.action, a.reasons.join("; ")]), io.columns));
    for (const w of report.wal) io.out(`WAL of ${w.job} on ${w.target}: ${w.removed} object(s) before ${w.kept_from}, where its oldest kept base backup begins, ${report.dry_run ? "would be removed" : "removed"}`);
    if (report.dry_run) io.out(`would remove ${report.removed}, would keep ${report.kept}, would skip ${report.skipped} (dry run: nothing was deleted)`);
    else io.out(`removed ${report.removed}, kept ${report.kept}, skipped ${report.skipped}`);
  }
  for (const e of report.errors) io.err(`drctl: ${e}`);
  return report.errors.length > 0 ? 1 : 0;
}
