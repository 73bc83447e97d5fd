import { describeError } from "../errors.js";
import { backupPrefix } from "../targets/target.js";
import type { AppContext } from "./context.js";
import { BOOTED_AT, isClaimAlive, isProcessAlive } from "./process.js";
import { removeDeadStaging } from "./restore/staging.js";

export interface RecoveryReport {
  interruptedRuns: number;
  removedObjects: number;
  /** Targets that could not be cleaned now (unreachable): retried at the next recovery. */
  deferred: string[];
  /** Staging directories of restores whose process died. */
  removedStaging: number;
}

/**
 * Cleans up after runs whose process died (kill -9, power loss, a reboot): marks them
 * interrupted, removes the objects of backups that never reached the catalog and the
 * temporary files of interrupted writes, and the staging of killed restores. Runs before every backup and when the daemon
 * starts. A target that cannot be reached does not stop the rest (nor the backup that
 * called this): the run stays marked for cleanup and the next recovery tries again.
 */
export async function recoverInterruptedRuns(ctx: AppContext): Promise<RecoveryReport> {
  const report: RecoveryReport = { interruptedRuns: 0, removedObjects: 0, deferred: [], removedStaging: 0 };
  for (const run of ctx.catalog.runningRuns()) {
    // A live claim, this process's included, is a run in progress (the daemon runs several).
    if (isClaimAlive(run)) continue;
    ctx.catalog.finishRun(run.id, "interrupted", ctx.now(), "the drd process ended during the run (killed, crashed or rebooted)");
    ctx.catalog.setCleanupPending(run.id, true);
    ctx.catalog.addEvent({ at: ctx.now(), kind: "run_interrupted", job: run.job, backup_id: run.backup_id });
    report.interruptedRuns++;
  }
  for (const run of ctx.catalog.runsAwaitingCleanup()) {
    const job = ctx.config.jobs[run.job];
    let complete = true;
    if (job && !ctx.catalog.getBackup(run.backup_id)) {
      for (const name of job.targets) {
        try {
          const target = ctx.targets.get(name);
          const leftovers = await target.list(backupPrefix(run.job, run.backup_id));
          await target.delete(leftovers.map((o) => o.key));
          report.removedObjects += leftovers.length;
        } catch (err) {
          complete = false;
          report.deferred.push(`${name}: ${describeError(err)}`);
        }
      }
    }
    if (complete) ctx.catalog.setCleanupPending(run.id, false);
  }
  for (const name of Object.keys(ctx.config.targets)) {
    try {
      // A temporary file from before this boot has no live writer, whatever its pid is now.
      report.removedObjects += await ctx.targets.get(name).removeLeftovers((pid, writtenAt) => writtenAt >= BOOTED_AT && isProcessAlive(pid));
    } catch (err) {
      report.deferred.push(`${name}: ${describeError(err)}`);
    }
  }
  report.removedStaging = await removeDeadStaging(ctx.config.state_dir);
  return report;
}
