import type { AppContext } from "../../app/context.js";
import { parseKeepSize, walSetup, type ApplyOptions } from "../../app/wal-setup.js";
import { UsageError } from "../../errors.js";
import type { Output } from "../io.js";
import { json } from "../render.js";

export interface WalSetupOptions {
  json?: boolean;
  apply?: boolean;
  superuserConnection?: string;
  superuserPasswordFile?: string;
  maxSlotWalKeepSize?: string;
}

/** Prints what the job's server has and lacks (with --apply, after doing what SQL can); exit 1 when a required change is still missing. */
export async function walSetupCommand(ctx: AppContext, io: Output, job: string, opts: WalSetupOptions): Promise<number> {
  const apply = applyOptions(opts);
  const report = await walSetup(ctx, job, apply);
  if (opts.json) io.out(json(report));
  else {
    if (report.applied) {
      io.out(report.applied.length > 0 ? `${report.job}: applied` : `${report.job}: nothing to apply`);
      for (const sql of report.applied) io.out(`  ${sql}`);
    }
    io.out(`${report.job}: what its server needs for base backups and ${report.mode === "stream" ? `the WAL stream (slot ${report.slot})` : "archive_command (archive mode)"}`);
    for (const c of report.checks) {
      io.out(`  ${c.ok ? "ok    " : c.required ? "NEEDED" : "advice"}  ${c.check}: ${c.detail}`);
      if (!c.ok && c.fix) io.out(`          ${c.fix}`);
    }
    for (const p of report.pending_restart) io.out(`  restart needed: ${p.name}${p.value === null ? "" : ` = ${p.value}`} takes effect when PostgreSQL restarts`);
  }
  const needed = report.checks.filter((c) => !c.ok && c.required);
  if (needed.length > 0 && !opts.json) io.err(`drctl: ${report.job}'s server needs ${needed.length} change(s) above${report.restart_needed ? ", one of them with a restart" : ""}`);
  return needed.length > 0 ? 1 : 0;
}

function applyOptions(opts: WalSetupOptions): ApplyOptions | undefined {
  if (!opts.apply) {
    const stray = [opts.superuserConnection && "--superuser-connection", opts.superuserPasswordFile && "--superuser-password-file", opts.maxSlotWalKeepSize && "--max-slot-wal-keep-size"].filter(Boolean);
    if (stray.length > 0) throw new UsageError(`${stray.join(", ")}: only with --apply`);
    return undefined;
  }
  return {
    ...(opts.superuserConnection !== undefined ? { superuserConnection: opts.superuserConnection } : {}),
    ...(opts.superuserPasswordFile !== undefined ? { superuserPasswordFile: opts.superuserPasswordFile } : {}),
    ...(opts.maxSlotWalKeepSize !== undefined ? { maxSlotWalKeepSizeMb: parseKeepSize(opts.maxSlotWalKeepSize) } : {}),
  };
}
