import { nextDue, nextSlot } from "../policy/schedule.js";

/** Longest sleep between looks at the clock: a clock that jumps is noticed within this. */
const MAX_SLEEP_MS = 30_000;

/**
 * Fires `task` at each slot of a cron expression, as policy/schedule.ts reads it, so what
 * runs is what drd says runs. A slot that comes while the previous run is still going is
 * skipped (a job never overlaps itself); slots passed while the process slept (a suspended
 * VM) fire once, not once each.
 */
export class CronTimer {
  private timer: NodeJS.Timeout | undefined;
  private due: number;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  /** When it last looked at the clock: a later look that reads an earlier time means the clock stepped back. */
  private lookedAt: number;

  constructor(
    private readonly expression: string,
    private readonly timezone: string,
    private readonly task: () => Promise<unknown>,
    private readonly now: () => number = Date.now,
  ) {
    this.lookedAt = this.now();
    this.due = nextSlot(expression, timezone, this.lookedAt);
    this.arm();
  }

  /** When it fires next. */
  get next(): Date {
    return new Date(this.due);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(this.due - this.now(), MAX_SLEEP_MS)));
  }

  private wake(): void {
    const now = this.now();
    this.due = nextDue(this.expression, this.timezone, this.due, this.lookedAt, now);
    this.lookedAt = now;
    if (now >= this.due) {
      this.due = nextSlot(this.expression, this.timezone, now);
      if (!this.running) {
        this.running = this.task().finally(() => (this.running = undefined));
        this.running.catch(() => undefined);
      }
    }
    this.arm();
  }
}
