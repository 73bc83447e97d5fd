import type { runBackup } from "../app/backup.js";
import type { runDrill } from "../app/drill.js";
import type { AppContext } from "../app/context.js";
import { recoverInterruptedRuns } from "../app/recover.js";
import type { prune } from "../app/prune.js";
import type { replicatePending } from "../app/replicate.js";
import type { Config } from "../config/schema.js";
import { describeError, UsageError } from "../errors.js";
import { TargetRegistry } from "../targets/factory.js";
import { missedSlot } from "../policy/schedule.js";
import { CronTimer } from "./cron-timer.js";
import { ObjectiveWatch } from "./watch.js";
import type { Logger } from "./logger.js";

const RETRY_CHECK_MS = 60_000;

/** What the scheduler runs: the same use cases as the commands. Swappable so a test can make one fail. */
export interface ScheduledWork {
  backup: typeof runBackup;
  prune: typeof prune;
  drill: typeof runDrill;
  replicate: typeof replicatePending;
}
/** Each loaded on its first run: an idle daemon holds neither the OpenPGP nor the tar code (measured: about 15 MiB). */
const USE_CASES: ScheduledWork = {
  backup: async (...a) => (await import("../app/backup.js")).runBackup(...a),
  prune: async (...a) => (await import("../app/prune.js")).prune(...a),
  drill: async (...a) => (await import("../app/drill.js")).runDrill(...a),
  replicate: async (...a) => (await import("../app/replicate.js")).replicatePending(...a),
};

/**
 * The long-running scheduler: one cron task per job, each calling the same backup use
 * case as `drctl backup`. A job never overlaps itself. Runs missed while the daemon was
 * down are run once at start. `stop()` aborts running backups (they clean up after
 * themselves and are recorded interrupted) and waits for them.
 */
export class Scheduler {
  private readonly tasks: { what: string; timer: CronTimer }[] = [];
  private readonly running = new Set<Promise<unknown>>();
  /**
   * What runs now, by name ("backup database"): the status systemd shows, and how a backup
   * slot that comes while the job's backup still runs is skipped, also across a reload.
   */
  private readonly active = new Map<string, number>();
  private readonly abort = new AbortController();
  private retryTimer: NodeJS.Timeout | undefined;
  private watch: ObjectiveWatch;

  constructor(
    private ctx: AppContext,
    private readonly log: Logger,
    private readonly work: ScheduledWork = USE_CASES,
  ) {
    this.watch = new ObjectiveWatch(ctx, log);
  }

  async start(): Promise<void> {
    const recovered = await recoverInterruptedRuns(this.ctx);
    if (recovered.interruptedRuns > 0 || recovered.removedObjects > 0 || recovered.deferred.length > 0) this.log.warn(recovered, "cleaned up after interrupted runs");
    this.schedule(() => true);
    // Copies left pending by an outage are retried once their backoff has passed.
    this.retryTimer = setInterval(() => void this.retryPending(), RETRY_CHECK_MS);
    this.watch.start();
  }

  /**
   * Puts a new config in force: jobs added, removed or rescheduled take effect at once;
   * runs already going finish with the config they started with. The state dir cannot
   * change (the catalog and its lock belong to it).
   */
  async reload(config: Config): Promise<{ added: string[]; removed: string[]; rescheduled: string[] }> {
    const old = this.ctx.config;
    if (config.state_dir !== old.state_dir) throw new UsageError(`state_dir changed (${old.state_dir} -> ${config.state_dir}): restart drd to use another state dir`);
    const before = new Set(Object.keys(old.jobs));
    const added = Object.keys(config.jobs).filter((j) => !before.has(j));
    const removed = [...before].filter((j) => !(j in config.jobs));
    const rescheduled = Object.keys(config.jobs).filter((j) => before.has(j) && (old.jobs[j]!.schedule !== config.jobs[j]!.schedule || old.jobs[j]!.drill?.schedule !== config.jobs[j]!.drill?.schedule));
    for (const task of this.tasks.splice(0)) task.timer.stop();
    await this.watch.stop();
    this.ctx = { ...this.ctx, config, targets: new TargetRegistry(config) };
    this.schedule((job) => added.includes(job));
    this.watch = new ObjectiveWatch(this.ctx, this.log);
    this.watch.start();
    return { added, removed, rescheduled };
  }

  /** One timer per job (and per drill schedule); a missed slot is caught up for the jobs `catchUp` names. */
  private schedule(catchUp: (job: string) => boolean): void {
    const { config } = this.ctx;
    for (const [name, job] of Object.entries(config.jobs)) {
      const task = new CronTimer(job.schedule, config.timezone, () => this.run(name, "schedule"));
      this.tasks.push({ what: `backup ${name}`, timer: task });
      const last = this.ctx.catalog.lastSnapshotAt(name);
      const missed = catchUp(name) ? missedSlot(job.schedule, config.timezone, last, this.ctx.now()) : undefined;
      if (missed !== undefined) {
        this.log.info({ job: name, missed: new Date(missed).toISOString() }, "running a backup missed while drd was down");
        void this.run(name, "catch-up");
      }
      this.log.info({ job: name, schedule: job.schedule, next: task.next.toISOString() }, "scheduled");
      if (job.drill?.schedule) {
        const drill = new CronTimer(job.drill.schedule, config.timezone, () => this.drill(name));
        this.tasks.push({ what: `drill ${name}`, timer: drill });
        this.log.info({ job: name, drill: job.drill.schedule, next: drill.next.toISOString() }, "drill scheduled");
      }
    }
  }

  /**
   * Runs `work` unless stopping; `stop()` waits for everything started here. Whatever
   * the work throws (a SQLite error, prune failing after a backup) is logged and the
   * daemon goes on: one failed task never ends the process.
   */
  private track(what: string, work: () => Promise<unknown>): Promise<unknown> {
    if (this.abort.signal.aborted) return Promise.resolve();
    this.active.set(what, (this.active.get(what) ?? 0) + 1);
    const done = Promise.resolve()
      .then(work)
      .catch((err: unknown) => this.log.error({ task: what, error: describeError(err) }, "scheduled task failed"))
      // Every run may change an objective: evaluated at once, not at the next tick.
      .finally(() => this.watch.kick());
    this.running.add(done);
    void done.finally(() => {
      this.running.delete(done);
      const left = (this.active.get(what) ?? 1) - 1;
      if (left > 0) this.active.set(what, left);
      else this.active.delete(what);
    });
    return done;
  }

  private drill(job: string): Promise<unknown> {
    return this.track(`drill ${job}`, () => this.work.drill(this.ctx, job, { signal: this.abort.signal }).then(
      (o) => (o.ok ? this.log.info.bind(this.log) : this.log.error.bind(this.log))(
        { job, drill: o.id, ok: o.ok, backup: o.backup_id, from: o.from, seconds: o.duration_seconds, rto_proven: o.rto_proven, error: o.error, warnings: o.warnings },
        "drill done",
      ),
      (err: unknown) => this.log.error({ job, error: describeError(err) }, "drill failed to run"),
    ));
  }

  private retryPending(): Promise<unknown> {
    return this.track("replicate", () => this.work.replicate(this.ctx).then(
      (results) => {
        for (const r of results) (r.state === "verified" ? this.log.info.bind(this.log) : this.log.warn.bind(this.log))(r, "copy retried");
      },
      (err: unknown) => this.log.error({ error: describeError(err) }, "retrying pending copies failed"),
    ));
  }

  private run(job: string, reason: "schedule" | "catch-up"): Promise<unknown> {
    if (this.active.has(`backup ${job}`)) return Promise.resolve();
    const started = Date.now();
    // The config this run started with, whatever a reload does meanwhile.
    const ctx = this.ctx;
    return this.track(`backup ${job}`, () => this.work.backup(ctx, job, { trigger: "schedule", signal: this.abort.signal }).then(
      async (outcome) => {
        this.log.info({ job, reason, backup: outcome.id, bytes: outcome.size, ms: Date.now() - started, copies: outcome.copies }, "backup done");
        // Retention after each good backup: the planner never removes what the new one has not replaced.
        const pruned = await this.work.prune(ctx, { job });
        if (pruned.removed > 0 || pruned.skipped > 0 || pruned.errors.length > 0)
          this.log.info({ job, removed: pruned.removed, skipped: pruned.skipped, errors: pruned.errors }, "pruned");
      },
      (err: unknown) => this.log.error({ job, reason, ms: Date.now() - started, error: describeError(err) }, "backup failed"),
    ));
  }

  /** One line for `systemctl status`: what runs now and what runs next. */
  summary(): string {
    const next = this.tasks.reduce<{ what: string; timer: CronTimer } | undefined>((a, t) => (a && a.timer.next <= t.timer.next ? a : t), undefined);
    const jobs = Object.keys(this.ctx.config.jobs).length;
    const parts = [`${jobs} job${jobs === 1 ? "" : "s"}`];
    if (this.active.size > 0) parts.push(`running: ${[...this.active.keys()].join(", ")}`);
    if (next) parts.push(`next: ${next.what} at ${next.timer.next.toISOString().replace(/\.\d{3}Z$/, "Z")}`);
    return parts.join("; ");
  }

  async stop(reason: string): Promise<void> {
    clearInterval(this.retryTimer);
    for (const task of this.tasks) task.timer.stop();
    this.abort.abort(new Error(reason));
    await Promise.allSettled([...this.running]);
    await this.watch.stop();
  }
}
