import { alertMessage } from "../alerts/message.js";
import { afterFailure, afterSuccess } from "../policy/problems.js";
import type { AppContext } from "./context.js";
import { notify } from "./notify.js";
import { human } from "./human.js";

/** A run of `job` failed: the job's open problem grows, and someone is told when it opens and every `renotify`. */
export function backupFailed(ctx: AppContext, job: string, backupId: string, error: string): void {
  const now = ctx.now();
  const step = afterFailure(ctx.catalog.openProblem(job), now, error, ctx.config.renotify * 1000);
  ctx.catalog.setProblem(job, step.problem);
  if (!step.tell) return;
  const { failures, since } = step.problem;
  const message =
    step.tell === "opened"
      ? `backup of ${job} failed: ${error}`
      : `backup of ${job} still failing: ${failures} failed runs since ${new Date(since).toISOString()} (${human(now - since)}); the last: ${error}`;
  notify(ctx, alertMessage("backup_failed", job, message, { backup_id: backupId, error, failures, since: new Date(since).toISOString(), renotify: step.tell === "still" }, now));
}

/** A run of `job` succeeded: an open problem closes, and its recovery is told once. */
export function backupSucceeded(ctx: AppContext, job: string, backupId: string): void {
  const now = ctx.now();
  const step = afterSuccess(ctx.catalog.openProblem(job), now);
  if (!step) return;
  ctx.catalog.setProblem(job, undefined);
  const { lastedMs, failures } = step.closed;
  notify(ctx, alertMessage("backup_recovered", job, `backup of ${job} works again (${backupId}) after ${failures} failed run(s) over ${human(lastedMs)}`, { backup_id: backupId, failures, failing_seconds: Math.round(lastedMs / 1000) }, now));
}

/** The daemon saw the wall clock step by `stepMs` while it ran: pruning is held; told once (a clock_skew alert). */
export function clockStepped(ctx: AppContext, job: string, stepMs: number): void {
  const now = ctx.now();
  const way = stepMs > 0 ? "forward" : "back";
  const message = `the clock stepped ${way} by ${human(Math.abs(stepMs))} while drd ran: pruning is held, so no backup is removed on the strength of a wrong date; reload or restart drd once the clock is right`;
  ctx.catalog.addEvent({ at: now, kind: "clock_jump", job, detail: message });
  notify(ctx, alertMessage("clock_skew", job, message, { step_seconds: Math.round(stepMs / 1000) }, now));
}
