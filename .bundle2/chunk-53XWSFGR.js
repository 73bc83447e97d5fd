import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  BOOTED_AT,
  isClaimAlive,
  isProcessAlive
} from "./chunk-DUCIIMAT.js";
import {
  backupPrefix
} from "./chunk-GBAX6DVE.js";
import {
  describeError
} from "./chunk-RSPIC3EP.js";

// dist/app/recover.js
async function recoverInterruptedRuns(ctx) {
  const report = { interruptedRuns: 0, removedObjects: 0, deferred: [] };
  for (const run of ctx.catalog.runningRuns()) {
    if (isClaimAlive(run))
      continue;
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
    if (complete)
      ctx.catalog.setCleanupPending(run.id, false);
  }
  for (const name of Object.keys(ctx.config.targets)) {
    try {
      report.removedObjects += await ctx.targets.get(name).removeLeftovers((pid, writtenAt) => writtenAt >= BOOTED_AT && isProcessAlive(pid));
    } catch (err) {
      report.deferred.push(`${name}: ${describeError(err)}`);
    }
  }
  return report;
}

export {
  recoverInterruptedRuns
};
