import type { runBackup } from "../app/backup.js";
import type { runDrill } from "../app/drill.js";
import { recoverInterruptedRuns } from "../app/recover.js";
import type { prune } from "../app/prune.js";
import type { replicatePending } from "../app/replicate.js";
import { describeError } from "../errors.js";
import { clockOf } from "../app/context.js";
import { clockInDoubt, clockStep, latestTrustedTime, type ClockReading } from "../policy/clock.js";
import { clockStepped } from "../app/problems.js";
import type { AppContext } from "../app/context.js";
import { missedSlot } from "../policy/schedule.js";
import { dutiesOf } from "../policy/role.js";
import { CronTimer } from "./cron-timer.js";
import type { Logger } from "./logger.js";
import type { ConfigChange, Runtime } from "./runtime.js";

const RETRY_CHECK_MS = 60_000;

/** What the scheduler runs: the same use cases as the commands. Swappable so a test can make one fail. */
export interface ScheduledWork {
  backup: typeof runBackup;
  prune: typeof prune;
  drill: typeof runDrill;
  replicate: typeof replicatePending;
}
/**
 * Each loaded on its first run: an idle daemon holds neither the OpenPGP nor the tar code
 * (about 6-9 MiB of RSS). An upgrade never takes them from under a running daemon: each
 * release has its own directory (scripts/install.sh).
 */
const USE_CASES: ScheduledWork = {
  backup: async (...a) => (await import("../app/backup.js")).runBackup(...a),
  prune: async (...a) => (await import("../app/prune.js")).prune(...a),
  drill: async (...a) => (await import("../app/drill.js")).runDrill(...a),
  replicate: async (...a) => (await import("../app/replicate.js")).replicatePending(...a),
};

/**
 * The long-running scheduler: one cron task per job, each calling the same backup use
 * case as `drctl backup`. Neither a job's backups nor its drills overlap themselves. Runs
 * missed while the daemon was down are run once at start. On a drill host (role: drills)
 * only the drill timers are set: no backup, catch-up, prune or copy retry. It reads the
 * config in force from the runtime, re-arms its timers on each reload, and on stop aborts
 * running backups, drills and copies (they clean up after themselves and are recorded
 * interrupted) and waits for them.
 */
export class Scheduler {
  private readonly tasks: { what: string; timer: CronTimer }[] = [];
  private readonly running = new Set<Promise<unknown>>();
  /**
   * What runs now, by name ("backup database"): the status systemd shows, and how a slot
   * that comes while the same work still runs is skipped, also across a reload.
   */
  private readonly active = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Wall and monotonic time read together at start and at each reload: how a clock step is seen. */
  private clockAnchor: ClockReading = { wall: Date.now(), mono: performance.now() };
  private clockStepTold = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly log: Logger,
    /** Told after every run: each may change an objective, evaluated at once rather than at the next tick. */
    private readonly afterRun: () => void = () => undefined,
    private readonly work: ScheduledWork = USE_CASES,
  ) {}

  private get signal(): AbortSignal {
    return this.runtime.stopping;
  }

  async start(): Promise<void> {
    this.clockAnchor = { wall: this.runtime.ctx.now(), mono: performance.now() };
    const recovered = await recoverInterruptedRuns(this.runtime.ctx);
    if (recovered.interruptedRuns > 0 || recovered.removedObjects > 0 || recovered.deferred.length > 0 || recovered.removedStaging > 0) this.log.warn(recovered, "cleaned up after interrupted runs");
    this.schedule(() => true);
    this.runtime.onReload((change) => this.reschedule(change));
    // Copies left pending by an outage are retried once their backoff has passed.
    this.retryTimer = setInterval(() => void this.retryPending(), RETRY_CHECK_MS);
  }

  /**
   * A new config is in force: every timer is set again from it, and jobs it added catch up
   * at once. Runs already going finish with the config they started with.
   */
  private reschedule(change: ConfigChange): void {
    // A reload says the operator looked: the clock as it reads now is the reference again.
    this.clockAnchor = { wall: this.runtime.ctx.now(), mono: performance.now() };
    // The new timers first: if they cannot all be set, the old ones go on (the reload is refused).
    const old = this.tasks.splice(0);
    try {
      this.schedule((job) => change.added.includes(job));
    } catch (err) {
      for (const task of this.tasks.splice(0, this.tasks.length, ...old)) task.timer.stop();
      throw err;
    }
    for (const task of old) task.timer.stop();
  }

  /** One timer per job (and per drill schedule); a missed slot is caught up for the jobs `catchUp` names. */
  private schedule(catchUp: (job: string) => boolean): void {
    const ctx = this.runtime.ctx;
    const { config } = ctx;
    const duties = dutiesOf(config.role);
    const missedJobs: string[] = [];
    for (const [name, job] of Object.entries(config.jobs)) {
      if (duties.backups) {
        const task = new CronTimer(job.schedule, config.timezone, () => this.run(name, "schedule"));
        this.tasks.push({ what: `backup ${name}`, timer: task });
        // A backup dated ahead of the clock does not make a missed slot look done.
        const last = ctx.catalog.lastSnapshotAt(name, latestTrustedTime(clockOf(ctx)));
        const missed = catchUp(name) ? missedSlot(job.schedule, config.timezone, last, ctx.now()) : undefined;
        if (missed !== undefined) {
          this.log.info({ job: name, missed: new Date(missed).toISOString() }, "running a backup missed while drd was down");
          missedJobs.push(name);
        }
        this.log.info({ job: name, schedule: job.schedule, next: task.next.toISOString() }, "scheduled");
      }
      if (duties.drills && job.drill?.schedule) {
        const drill = new CronTimer(job.drill.schedule, config.timezone, () => this.drill(name));
        this.tasks.push({ what: `drill ${name}`, timer: drill });
        this.log.info({ job: name, drill: job.drill.schedule, next: drill.next.toISOString() }, "drill scheduled");
      }
    }
    // Started once every timer is set.
    for (const name of missedJobs) void this.run(name, "catch-up");
  }

  /**
   * Runs `work` unless stopping or the same work still runs; `stop()` waits for everything
   * started here. Whatever the work throws (a SQLite error, prune failing after a backup)
   * is logged and the daemon goes on: one failed task never ends the process.
   */
  private track(what: string, work: () => Promise<unknown>): Promise<unknown> {
    if (this.signal.aborted || this.active.has(what)) return Promise.resolve();
    this.active.set(what, 1);
    const done = Promise.resolve()
      .then(work)
      .catch((err: unknown) => this.log.error({ task: what, error: describeError(err) }, "scheduled task failed"))
      .finally(() => {
        this.running.delete(done);
        this.active.delete(what);
        // Told, never awaited: a slow evaluation or alert channel must not hold the next slot.
        try {
          this.afterRun();
        } catch (err) {
          this.log.error({ error: describeError(err) }, "after a run");
        }
      });
    this.running.add(done);
    return done;
  }

  private drill(job: string): Promise<unknown> {
    const ctx = this.runtime.ctx;
    return this.track(`drill ${job}`, () => this.work.drill(ctx, job, { signal: this.signal }).then(
      (o) => (o.ok ? this.log.info.bind(this.log) : this.log.error.bind(this.log))(
        { job, drill: o.id, ok: o.ok, backup: o.backup_id, from: o.from, seconds: o.duration_seconds, rto_proven: o.rto_proven, error: o.error, warnings: o.warnings },
        "drill done",
      ),
      (err: unknown) => this.log.error({ job, error: describeError(err) }, "drill failed to run"),
    ));
  }

  private retryPending(): Promise<unknown> {
    const ctx = this.runtime.ctx;
    if (!dutiesOf(ctx.config.role).replicate) return Promise.resolve();
    return this.track("replicate", () => this.work.replicate(ctx, { signal: this.signal }).then(
      (results) => {
        for (const r of results) (r.state === "verified" ? this.log.info.bind(this.log) : this.log.warn.bind(this.log))(r, "copy retried");
      },
      (err: unknown) => this.log.error({ error: describeError(err) }, "retrying pending copies failed"),
    ));
  }

  /** A backup of `job` now, outside its schedule (unless one runs): the WAL stream asks for one after its slot was lost. */
  backupNow(job: string, reason: "wal_slot_lost"): void {
    const { config } = this.runtime.ctx;
    if (config.jobs[job] && dutiesOf(config.role).backups) void this.run(job, reason);
  }

  private run(job: string, reason: "schedule" | "catch-up" | "wal_slot_lost"): Promise<unknown> {
    const started = Date.now();
    // The config this run started with, whatever a reload does meanwhile.
    const ctx = this.runtime.ctx;
    return this.track(`backup ${job}`, () => this.work.backup(ctx, job, { trigger: "schedule", signal: this.signal }).then(
      async (outcome) => {
        this.log.info({ job, reason, backup: outcome.id, bytes: outcome.size, ms: Date.now() - started, copies: outcome.copies }, "backup done");
        // Retention after each good backup: the planner never removes what the new one has not
        // replaced. Not while stopping: a deletion cut short by the stop deadline is not worth it.
        if (this.signal.aborted) return;
        // Not while the clock is in doubt: a clock stepped forward would date the new backup
        // ahead of every other, and max_age counted back from it would remove them all.
        if (this.clockHeld(ctx, job)) return;
        const pruned = await this.work.prune(ctx, { job, signal: this.signal });
        if (pruned.removed > 0 || pruned.skipped > 0 || pruned.errors.length > 0)
          this.log.info({ job, removed: pruned.removed, skipped: pruned.skipped, errors: pruned.errors }, "pruned");
      },
      (err: unknown) => this.log.error({ job, reason, ms: Date.now() - started, error: describeError(err) }, "backup failed"),
    ));
  }

  /**
   * Whether the wall clock stepped since drd started (or last reloaded), by the monotonic
   * clock: pruning is then held, with a clock_skew alert once, until the step is undone or
   * drd is reloaded or restarted once the clock is right.
   */
  private clockHeld(ctx: AppContext, job: string): boolean {
    const step = clockStep(this.clockAnchor, { wall: ctx.now(), mono: performance.now() });
    if (!clockInDoubt(step, ctx.config.clock_skew_allowance * 1000)) {
      this.clockStepTold = false;
      return false;
    }
    this.log.warn({ job, step_seconds: Math.round(step / 1000) }, "prune held: the clock stepped since drd started");
    if (!this.clockStepTold) {
      this.clockStepTold = true;
      clockStepped(ctx, job, step);
    }
    return true;
  }

  /** One line for `systemctl status`: what runs now and what runs next. */
  summary(): string {
    const next = this.tasks.reduce<{ what: string; timer: CronTimer } | undefined>((a, t) => (a && a.timer.next <= t.timer.next ? a : t), undefined);
    const jobs = Object.keys(this.runtime.ctx.config.jobs).length;
    const parts = [`${jobs} job${jobs === 1 ? "" : "s"}${dutiesOf(this.runtime.ctx.config.role).backups ? "" : " (drills only)"}`];
    if (this.active.size > 0) parts.push(`running: ${[...this.active.keys()].join(", ")}`);
    if (next) parts.push(`next: ${next.what} at ${next.timer.next.toISOString().replace(/\.\d{3}Z$/, "Z")}`);
    return parts.join("; ");
  }

  /** What still runs, by name. */
  runningNow(): string[] {
    return [...this.active.keys()];
  }

  /** Stops every timer and waits for the work in progress, which the runtime's stop has aborted. */
  async stop(): Promise<void> {
    clearInterval(this.retryTimer);
    for (const task of this.tasks.splice(0)) task.timer.stop();
    await Promise.allSettled([...this.running]);
  }
}
