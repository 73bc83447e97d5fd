import type { AppContext } from "../../app/context.js";
import { jobOf } from "../../app/context.js";
import { replicatePending } from "../../app/replicate.js";
import type { Output } from "../io.js";
import { json, table } from "../render.js";

/** Writes pending copies now, without waiting for their backoff. Exit 1 if any is still pending. */
export async function replicateCommand(ctx: AppContext, io: Output, opts: { job?: string; json?: boolean }): Promise<number> {
  if (opts.job) jobOf(ctx, opts.job);
  const results = await replicatePending(ctx, { ...(opts.job ? { job: opts.job } : {}), force: true });
  if (opts.json) io.out(json(results));
  else if (results.length === 0) io.out("no pending copies");
  else io.out(table(["BACKUP", "TARGET", "STATE", "ERROR"], results.map((r) => [r.backup_id, r.target, r.state, r.error ?? ""])));
  return results.some((r) => r.state !== "verified") ? 1 : 0;
}
