import { backupPrefix } from "../targets/target.js";
import type { AppContext } from "./context.js";
import { isProcessAlive } from "./process.js";

export interface RecoveryReport {
  interruptedRuns: number;
  removedObjects: number;
}

/**
 * Cleans up after runs whose process died (kill -9, power loss): marks them interrupted,
 * removes the objects of backups that never reached the catalog and the temporary files
 * of interrupted writes. Runs before every backup and when the daemon starts.
 */
export async function recoverInterruptedRuns(ctx: AppContext): Promise<RecoveryReport> {
  const report: RecoveryReport = { interruptedRuns: 0, removedObjects: 0 };
  for (const run of ctx.catalog.runningRuns()) {
    // A live pid, this process's included, is a run in progress (the daemon runs several).
    if (isProcessAlive(run.pid)) continue;
    ctx.catalog.finishRun(run.id, "interrupted", ctx.now(), "the drd process ended during the run (killed or crashed)");
    ctx.catalog.addEvent({ at: ctx.now(), kind: "run_interrupted", job: run.job, backup_id: run.backup_id });
    report.interruptedRuns++;
    const job = ctx.config.jobs[run.job];
    if (!job || ctx.catalog.getBackup(run.backup_id)) continue;
    for (const name of job.targets) {
      const target = safeTarget(ctx, name);
      if (!target) continue;
      const leftovers = await target.list(backupPrefix(run.job, run.backup_id));
      await target.delete(leftovers.map((o) => o.key));
      report.removedObjects += leftovers.length;
    }
  }
  for (const name of Object.keys(ctx.config.targets)) {
    const target = safeTarget(ctx, name);
    if (target) report.removedObjects += await target.removeLeftovers(isProcessAlive);
  }
  return report;
}

function safeTarget(ctx: AppContext, name: string) {
  try {
    return ctx.targets.get(name);
  } catch {
    return undefined;
  }
}
