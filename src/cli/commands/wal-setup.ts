import type { AppContext } from "../../app/context.js";
import { walSetup } from "../../app/wal-setup.js";
import type { Output } from "../io.js";
import { json } from "../render.js";

/** Prints what the job's server has and lacks; exit 1 when a required change is missing. */
export async function walSetupCommand(ctx: AppContext, io: Output, job: string, opts: { json?: boolean }): Promise<number> {
  const report = await walSetup(ctx, job);
  if (opts.json) io.out(json(report));
  else {
    io.out(`${report.job}: what its server needs for base backups and the WAL stream (slot ${report.slot})`);
    for (const c of report.checks) {
      io.out(`  ${c.ok ? "ok    " : c.required ? "NEEDED" : "advice"}  ${c.check}: ${c.detail}`);
      if (!c.ok && c.fix) io.out(`          ${c.fix}`);
    }
  }
  const needed = report.checks.filter((c) => !c.ok && c.required);
  if (needed.length > 0 && !opts.json) io.err(`drctl: ${report.job}'s server needs ${needed.length} change(s) above${report.restart_needed ? ", one of them with a restart" : ""}`);
  return needed.length > 0 ? 1 : 0;
}
