import type { AppContext } from "../app/context.js";
import { settleObjectives, type JobAssessment } from "../app/objectives.js";
import { describeError } from "../errors.js";
import type { Logger } from "./logger.js";

const HEARTBEAT_TIMEOUT_MS = 10_000;

/**
 * Keeps the objectives current and the alerts moving: evaluates every job at least every
 * minute (more often for RPOs under 4 minutes, so a breach is seen within a quarter of its
 * RPO) and after every run, delivers what the outbox holds, and calls the heartbeat URL
 * every minute: plain while every job meets its objectives, its `/fail` form while one is
 * in breach. Nothing here throws into the daemon.
 */
export class ObjectiveWatch {
  private tick: NodeJS.Timeout | undefined;
  private beat: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private last: JobAssessment[] = [];

  constructor(
    private readonly ctx: AppContext,
    private readonly log: Logger,
  ) {}

  start(): void {
    const shortest = Math.min(...Object.values(this.ctx.config.jobs).map((j) => j.rpo * 1000), 240_000);
    const tickMs = Math.max(1_000, Math.floor(shortest / 4));
    this.tick = setInterval(() => void this.kick(), tickMs);
    // Every minute; as often as the shortest RPO when that is shorter (a demo or a test).
    if (this.ctx.config.heartbeat) this.beat = setInterval(() => void this.heartbeat(), Math.max(tickMs, Math.min(60_000, shortest)));
    void this.kick().then(() => this.heartbeat());
  }

  /** Evaluates and delivers now (after a run); a call while one is going runs once more after it. */
  kick(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      do {
        this.again = false;
        try {
          const settled = await settleObjectives(this.ctx);
          this.last = settled.assessments;
          for (const r of settled.deliveries) {
            if (r.ok) this.log.info(r, "alert delivered");
            else this.log.warn(r, "alert not delivered (will retry)");
          }
        } catch (err) {
          this.log.error({ error: describeError(err) }, "evaluating objectives failed");
        }
      } while (this.again);
    })().finally(() => (this.busy = undefined));
    return this.busy;
  }

  /** Pings while every job is within its objectives, pings `/fail` when one is not: a dead daemon goes silent. */
  private async heartbeat(): Promise<void> {
    const hb = this.ctx.config.heartbeat;
    if (!hb) return;
    const failing = this.last.filter((a) => a.rpo.state === "breach" || a.rto.state === "breach").map((a) => a.job);
    const url = failing.length === 0 ? hb.url : `${hb.url.replace(/\/$/, "")}/fail`;
    try {
      const res = await fetch(url, { method: "POST", body: failing.length ? `in breach: ${failing.join(", ")}` : "ok", signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS) });
      await res.body?.cancel();
      if (!res.ok) this.log.warn({ status: res.status }, "heartbeat not accepted");
    } catch (err) {
      this.log.warn({ error: describeError(err) }, "heartbeat failed");
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.tick);
    clearInterval(this.beat);
    await this.busy;
  }
}
