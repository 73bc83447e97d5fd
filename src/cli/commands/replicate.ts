import type { AppContext } from "../../app/context.js";
import { jobOf } from "../../app/context.js";
import { replicatePending } from "../../app/replicate.js";
import type { Output } from "../io.js";
import { json, table } from "../render.js";

/**
 * Writes pending copies now, without waiting for their backoff. Exit 1 if a copy that could
 * be written failed; a copy with no source left (every other copy corrupt or missing) is
 * reported and does not fail the run: no retry can write it.
 */
export async function replicateCommand(ctx: AppContext, io: Output, opts: { job?: string; json?: boolean }): Promise<number> {
  if (opts.job) jobOf(ctx, opts.job);
  const results = await replicatePending(ctx, { ...(opts.job ? { job: opts.job } : {}), force: true });
  if (opts.json) io.out(json(results));
  else if (results.length === 0) io.out("no pending copies");
  else io.out(table(["BACKUP", "TARGET", "STATE", "ERROR"], results.map((r) => [r.backup_id, r.target, r.state, r.error ?? ""]), io.columns));
  const unsourced = results.filter((r) => r.state === "no_source").length;
  if (unsourced > 0 && !opts.json) io.err(`drctl: warning: ${unsourced} cop${unsourced === 1 ? "y" : "ies"} cannot be written: no verified copy is left to copy from (drctl verify; the next backup replaces ${unsourced === 1 ? "it" : "them"})`);
  return results.some((r) => r.state === "pending") ? 1 : 0;
}
