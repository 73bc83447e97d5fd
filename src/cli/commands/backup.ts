import { runBackup } from "../../app/backup.js";
import type { AppContext } from "../../app/context.js";
import { formatDuration } from "../../config/duration.js";
import type { Output } from "../io.js";
import { bytes, json } from "../render.js";

export async function backupCommand(ctx: AppContext, io: Output, job: string, opts: { json?: boolean; signal: AbortSignal }): Promise<number> {
  const outcome = await runBackup(ctx, job, { trigger: "manual", signal: opts.signal });
  if (opts.json) {
    io.out(json(outcome));
  } else {
    io.out(`backup ${outcome.id}: ${bytes(outcome.size)} in ${formatDuration(outcome.durationMs / 1000)}, sha256 ${outcome.sha256}`);
    for (const c of outcome.copies) io.out(`  ${c.target}: ${c.state}${c.error ? ` (${c.error})` : ""}`);
  }
  return 0;
}
