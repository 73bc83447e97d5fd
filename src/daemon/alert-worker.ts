import { channelName } from "../config/channel-name.js";
import { deliverChannel, retireDeparted, type DeliveryResult } from "../app/notify.js";
import { describeError } from "../errors.js";
import type { Logger } from "./logger.js";
import type { Runtime } from "./runtime.js";

/** How often the outbox is looked at for retries that came due, besides every kick. */
const LOOK_EVERY_MS = 5_000;

/**
 * Delivers the outbox, apart from evaluation and from runs: one worker per channel, each
 * in order and at its own pace, so a channel that hangs delays only its own rows. Nobody
 * awaits a delivery: `kick()` says there may be something new and returns at once.
 */
export class AlertWorker {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly stopped = new AbortController();

  constructor(
    private readonly runtime: Runtime,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), LOOK_EVERY_MS);
    this.kick();
  }

  /** Starts each channel's delivery, unless it is delivering already (then it looks again when done). */
  kick(): void {
    if (this.stopped.signal.aborted) return;
    const ctx = this.runtime.ctx;
    try {
      retireDeparted(ctx);
    } catch (err) {
      this.failed("outbox", err);
    }
    ctx.config.alerts.forEach((channel) => {
      const name = channelName(channel);
      if (this.busy.has(name)) return void this.again.add(name);
      const run = (async () => {
        do {
          this.again.delete(name);
          // The config of this moment: a reload that edits the channel applies to its next row.
          const now = this.runtime.ctx;
          const current = now.config.alerts.find((a) => channelName(a) === name);
          if (!current) break;
          try {
            this.report(await deliverChannel(now, name, current, this.stopped.signal));
          } catch (err) {
            this.failed(name, err);
          }
        } while (this.again.has(name) && !this.stopped.signal.aborted);
      })().finally(() => this.busy.delete(name));
      this.busy.set(name, run);
    });
  }

  private report(results: DeliveryResult[]): void {
    for (const r of results) {
      if (r.ok) this.log.info(r, "alert delivered");
      else this.log.warn(r, "alert not delivered (will retry)");
    }
  }

  private failed(channel: string, err: unknown): void {
    this.log.error({ channel, error: describeError(err) }, "delivering alerts failed");
  }

  /** Abandons deliveries in progress (their rows are due again for the next start) and waits for them. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped.abort(new Error("drd is stopping"));
    await Promise.allSettled([...this.busy.values()]);
  }
}
