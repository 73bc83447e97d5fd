import { evaluateObjectives, type JobAssessment } from "../app/objectives.js";
import { describeError } from "../errors.js";
import type { AlertWorker } from "./alert-worker.js";
import { withoutCredentials } from "../config/url.js";
import type { Logger } from "./logger.js";
import type { Runtime } from "./runtime.js";

/**
 * Keeps the objectives current: evaluates every job at least every minute (more often for
 * RPOs under 4 minutes, so a breach is seen within a quarter of its RPO) and after every
 * run, then tells the alert worker (never waiting for a delivery), and calls the heartbeat
 * URL every minute: plain while every job meets its objectives, its `/fail` form while one
 * is in breach or the objectives could not be evaluated. Nothing here throws into the daemon.
 */
export class ObjectiveWatch {
  private tick: NodeJS.Timeout | undefined;
  private beat: NodeJS.Timeout | undefined;
  private beating = false;
  private last: JobAssessment[] = [];
  /** Why the last evaluation failed, while it does: the heartbeat then reports failure, never stale success. */
  private failure: string | undefined;
  private readonly stopped = new AbortController();

  constructor(
    private readonly runtime: Runtime,
    private readonly log: Logger,
    private readonly alerts: AlertWorker,
  ) {}

  start(): void {
    this.arm();
    this.runtime.onReload(() => this.arm());
    this.kick();
    void this.heartbeat();
  }

  /** (Re)sets the timers from the config in force. */
  private arm(): void {
    clearInterval(this.tick);
    clearInterval(this.beat);
    if (this.stopped.signal.aborted) return;
    const { config } = this.runtime.ctx;
    const shortest = Math.min(...Object.values(config.jobs).map((j) => j.rpo * 1000), 240_000);
    const tickMs = Math.max(1_000, Math.floor(shortest / 4));
    this.tick = setInterval(() => this.kick(), tickMs);
    // Every minute; as often as the shortest RPO when that is shorter (a demo or a test).
    if (config.heartbeat) this.beat = setInterval(() => void this.heartbeat(), Math.max(tickMs, Math.min(60_000, shortest)));
  }

  /** Evaluates now (after a run, or on the tick) and hands what it raised to the alert worker. */
  kick(): void {
    if (this.stopped.signal.aborted) return;
    const ctx = this.runtime.ctx;
    try {
      this.last = evaluateObjectives(ctx);
      if (this.failure) this.log.info({ was: this.failure }, "objectives evaluated again");
      this.failure = undefined;
    } catch (err) {
      const error = describeError(err);
      if (error !== this.failure) {
        this.log.error({ error }, "evaluating objectives failed");
        try {
          ctx.catalog.addEvent({ at: ctx.now(), kind: "objectives_failed", detail: error });
        } catch {
          // The catalog itself may be what fails: the log line and the heartbeat still say so.
        }
      }
      this.failure = error;
    }
    this.alerts.kick();
  }

  /** Pings while every job is within its objectives, pings `/fail` when one is not: a dead daemon goes silent. */
  private async heartbeat(): Promise<void> {
    const hb = this.runtime.ctx.config.heartbeat;
    // One call at a time: one that hangs until its deadline never piles up behind itself.
    if (!hb || this.beating) return;
    this.beating = true;
    const failing = this.last.filter((a) => a.rpo.state === "breach" || a.rto.state === "breach").map((a) => a.job);
    const ok = failing.length === 0 && this.failure === undefined;
    const url = ok ? hb.url : `${hb.url.replace(/\/$/, "")}/fail`;
    const body = ok ? "ok" : this.failure ? `objectives not evaluated: ${this.failure}` : `in breach: ${failing.join(", ")}`;
    try {
      const plain = withoutCredentials(url);
      const res = await fetch(plain.url, { method: "POST", body, ...(plain.authorization ? { headers: { authorization: plain.authorization } } : {}), signal: AbortSignal.any([AbortSignal.timeout(hb.timeout * 1000), this.stopped.signal]) });
      await res.body?.cancel();
      if (!res.ok) this.log.warn({ status: res.status }, "heartbeat not accepted");
    } catch (err) {
      if (!this.stopped.signal.aborted) this.log.warn({ error: (err as Error).name === "TimeoutError" ? `no answer within ${hb.timeout} s` : describeError(err) }, "heartbeat failed");
    } finally {
      this.beating = false;
    }
  }

  stop(): void {
    this.stopped.abort();
    clearInterval(this.tick);
    clearInterval(this.beat);
  }
}
