import { channelName, wants, type AlertMessage } from "../alerts/message.js";
import type { AlertConfig } from "../config/schema.js";
import { Outbox } from "../catalog/outbox.js";
import { describeError } from "../errors.js";
import { retryDelayMs } from "../policy/backoff.js";
import type { AppContext } from "./context.js";

/** A failed delivery is retried after 10 s, doubling, at most every 10 min. */
const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 600_000;

/**
 * Puts a message in the outbox for every channel that wants it, and records it as an
 * event. Nothing is sent here: deliverDue does that, so a failing channel never holds up
 * the work that raised the alert.
 */
export function notify(ctx: AppContext, m: AlertMessage): number {
  const outbox = new Outbox(ctx.catalog.db);
  let queued = 0;
  ctx.config.alerts.forEach((alert, i) => {
    if (!wants(alert, m)) return;
    outbox.add(channelName(alert, i), JSON.stringify(m), ctx.now());
    queued++;
  });
  ctx.catalog.addEvent({ at: ctx.now(), kind: `alert_${m.event}`, ...(m.job ? { job: m.job } : {}), detail: m.message });
  return queued;
}

export interface DeliveryResult {
  channel: string;
  event: string;
  job: string | null;
  ok: boolean;
  error: string | null;
}

/**
 * Delivers what each channel has due, the channels side by side and each in order (a
 * breach never after its recovery): a failed row is retried with backoff, and the rows
 * behind it wait for it. Rows of a channel no longer in the config are retired with that
 * reason. Never throws for a channel's failure; `signal` abandons deliveries in progress
 * (they are due again later).
 */
export async function deliverDue(ctx: AppContext, signal?: AbortSignal): Promise<DeliveryResult[]> {
  retireDeparted(ctx);
  const results = await Promise.all(ctx.config.alerts.map((a, i) => deliverChannel(ctx, channelName(a, i), a, signal)));
  return results.flat();
}

/** Delivers one channel's due rows, oldest first, until one fails or is not yet due. */
export async function deliverChannel(ctx: AppContext, name: string, channel: AlertConfig, signal?: AbortSignal): Promise<DeliveryResult[]> {
  const outbox = new Outbox(ctx.catalog.db);
  const results: DeliveryResult[] = [];
  for (let row = outbox.head(name); row && !signal?.aborted; row = outbox.head(name)) {
    // Claimed for as long as a delivery may take: another drctl (the daemon) leaves it alone
    // meanwhile, and after a crash it is due again.
    if (!outbox.claim(row.id, ctx.now(), ctx.now() + channel.timeout * 1000 + CLAIM_MARGIN_MS)) break;
    // Loaded only when there is something to send: status and most runs never need it.
    const { deliver } = await import("../alerts/channels.js");
    const m = JSON.parse(row.event) as AlertMessage;
    try {
      await deliver(channel, m, signal);
      outbox.delivered(row.id, ctx.now());
      results.push({ channel: name, event: m.event, job: m.job, ok: true, error: null });
    } catch (err) {
      const error = describeError(err);
      // Abandoned at shutdown: due again at once for the next process, not a failed attempt.
      if (signal?.aborted) outbox.release(row.id, ctx.now());
      else outbox.failed(row.id, error, ctx.now() + retryDelayMs(row.attempts + 1, RETRY_BASE_MS, RETRY_MAX_MS));
      results.push({ channel: name, event: m.event, job: m.job, ok: false, error });
      break;
    }
  }
  return results;
}

/** Retires the rows of channels no longer in the config: nothing will ever send them. */
export function retireDeparted(ctx: AppContext): void {
  const outbox = new Outbox(ctx.catalog.db);
  const configured = new Set(ctx.config.alerts.map((a, i) => channelName(a, i)));
  for (const name of outbox.channels()) {
    if (configured.has(name)) continue;
    for (let row = outbox.head(name); row; row = outbox.head(name)) outbox.retire(row.id, "the channel is no longer in the config", ctx.now());
  }
}

const CLAIM_MARGIN_MS = 30_000;
