import type { AppContext } from "../../app/context.js";
import { drillFailure, runDrill } from "../../app/drill.js";
import type { Output } from "../io.js";
import { restoreProgress } from "../progress.js";
import { json, phasesInSeconds } from "../render.js";

/** Exit 0 when the drill passed, 3 when the data failed a check, 1 when the drill could not run. */
export async function drillCommand(ctx: AppContext, io: Output, job: string, opts: { target?: string; json?: boolean }, signal: AbortSignal): Promise<number> {
  // Progress on a terminal only; a scheduled or scripted drill prints its result alone.
  const progress = process.stderr.isTTY ? restoreProgress(io, true) : undefined;
  let outcome;
  try {
    outcome = await runDrill(ctx, job, { ...(opts.target ? { target: opts.target } : {}), signal, ...(progress ? { onProgress: progress.onProgress } : {}) });
  } finally {
    progress?.stop();
  }
  if (opts.json) io.out(json(phasesInSeconds(outcome)));
  else {
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const rto = outcome.rto_seconds !== undefined ? `; measured RTO ${outcome.rto_seconds.toFixed(1)} s, its slowest restore` : outcome.rto_proven ? " (measured RTO)" : " (RTO not proven)";
    io.out(`drill of ${job}: ${outcome.ok ? "ok" : "FAILED"}, backup ${outcome.backup_id ?? "-"} from ${outcome.from} in ${outcome.duration_seconds.toFixed(1)} s${rto}`);
    for (const r of outcome.restores ?? []) io.out(`  restore to ${r.kind === "moment" ? `a random moment, ${r.target}` : r.kind === "restore_point" ? `the restore point, ${r.target}` : r.target}: ${r.ok ? "ok" : "FAILED"} in ${r.seconds.toFixed(1)} s${r.reached ? `, ${r.reached}` : ""}`);
    const decrypt = outcome.phases.decrypt ? `, decrypt ${s(outcome.phases.decrypt)}` : "";
    io.out(`  download ${s(outcome.phases.download)}${decrypt}, restore ${s(outcome.phases.restore)} (overlapping), checks ${s(outcome.phases.checks)}`);
    for (const c of outcome.checks) io.out(`  ${c.ok ? "ok  " : "FAIL"} ${c.check}: ${c.detail}`);
    for (const w of outcome.warnings) io.out(`  warning: ${w}`);
  }
  const failure = drillFailure(outcome);
  if (failure) {
    if (!opts.json) io.err(`drctl: ${failure.message}`);
    return failure.exitCode;
  }
  return 0;
}
