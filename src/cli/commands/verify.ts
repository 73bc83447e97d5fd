import type { AppContext } from "../../app/context.js";
import { verifyBackups } from "../../app/verify.js";
import type { Output } from "../io.js";
import { json, table } from "../render.js";

/** Exit 3 when any copy is corrupt or missing, or a backup on a target is untrusted or invalid, or its chain broken; 1 when a copy could not be read at all. */
export async function verifyCommand(
  ctx: AppContext,
  io: Output,
  backupId: string | undefined,
  opts: { job?: string; target?: string; json?: boolean },
): Promise<number> {
  const request = { ...(backupId ? { backupId } : {}), ...(opts.job ? { job: opts.job } : {}), ...(opts.target ? { target: opts.target } : {}) };
  const results = await verifyBackups(ctx, request);
  if (opts.json) io.out(json(results));
  else if (results.length === 0) io.out("nothing to verify");
  else io.out(table(["BACKUP", "TARGET", "RESULT", "PROBLEM"], results.map((r) => [r.backup_id, r.target, r.state, r.problem ?? ""]), io.columns));
  if (results.some((r) => r.state === "corrupt" || r.state === "missing")) {
    if (!opts.json) io.err("drctl: integrity failure: a copy does not match its recorded sha256");
    return 3;
  }
  if (results.some((r) => r.state === "untrusted")) {
    if (!opts.json) io.err("drctl: integrity failure: a backup on a target is not signed by a trusted key for where it lies");
    return 3;
  }
  if (results.some((r) => r.state === "invalid" || r.state === "chain_broken")) {
    if (!opts.json) io.err("drctl: integrity failure: a manifest on a target cannot be used, or a job's backups there disagree with its signed head");
    return 3;
  }
  return results.some((r) => !r.ok) ? 1 : 0;
}
