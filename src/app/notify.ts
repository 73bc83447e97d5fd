import { wants, type AlertMessage } from "../alerts/message.js";
import { channelName, positionalName } from "../config/channel-name.js";
import type { AlertConfig } from "../config/schema.js";
import { Outbox, type OutboxRow } from "../catalog/outbox.js";
import { describeError } from "../errors.js";
import { retryDelayMs } from "../policy/backoff.js";
import type { AppContext } from "./context.js";
import { human } from "./human.js";

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
  ctx.config.alerts.forEach((alert) => {
    if (!wants(alert, m)) return;
    outbox.add(channelName(alert), JSON.stringify(m), ctx.now());
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
  const results = await Promise.all(ctx.config.alerts.map((a) => deliverChannel(ctx, channelName(a), a, signal)));
  return results.flat();
}

/** Delivers one channel's due rows, oldest first, until one fails or is not yet due. */
export async function deliverChannel(ctx: AppContext, name: string, channel: AlertConfig, signal?: AbortSignal): Promise<DeliveryResult[]> {
  const outbox = new Outbox(ctx.catalog.db);
  const results: DeliveryResult[] = [];
  for (let row = outbox.head(name); row && !signal?.aborted; row = outbox.head(name)) {
    if (ctx.now() - row.created_at > ctx.config.alert_expiry * 1000) {
      dropExpired(ctx, outbox, name, row);
      continue;
    }
    // Claimed for as long as a delivery may take: another drctl (the daemon) leaves it alone
    // meanwhile, and after a crash it is due again.
    if (!outbox.claim(row.id, ctx.now(), ctx.now() + channel.timeout * 1000 + CLAIM_MARGIN_MS)) break;
    // Loaded only when there is something to send: status and most runs never need it.
    const { deliver, RefusedDelivery } = await import("../alerts/channels.js");
    const m = JSON.parse(row.event) as AlertMessage;
    const outcome = (error: string | null) => results.push({ channel: name, event: m.event, job: m.job, ok: error === null, error });
    try {
      await deliver(channel, m, signal);
      outbox.delivered(row.id, ctx.now());
      outcome(null);
    } catch (err) {
      const error = describeError(err);
      outcome(error);
      if (err instanceof RefusedDelivery) {
        // Refused for good: it would hold every row behind it until it expired.
        drop(ctx, outbox, name, row, `refused by the channel (${error})`);
        continue;
      }
      // Abandoned at shutdown: due again at once for the next process, not a failed attempt.
      if (signal?.aborted) outbox.release(row.id, ctx.now());
      else outbox.failed(row.id, error, ctx.now() + retryDelayMs(row.attempts + 1, RETRY_BASE_MS, RETRY_MAX_MS));
      break;
    }
  }
  return results;
}

/** A row that could not be delivered within alert_expiry is dropped, with an event (counted on the metrics page). */
function dropExpired(ctx: AppContext, outbox: Outbox, channel: string, row: OutboxRow): void {
  drop(ctx, outbox, channel, row, `not delivered within ${human(ctx.config.alert_expiry * 1000)} (${row.attempts} attempt(s)${row.error ? `, last: ${row.error}` : ""})`);
}

function drop(ctx: AppContext, outbox: Outbox, channel: string, row: OutboxRow, reason: string): void {
  const m = JSON.parse(row.event) as AlertMessage;
  outbox.retire(row.id, reason, ctx.now());
  ctx.catalog.addEvent({ at: ctx.now(), kind: "alert_dropped", ...(m.job ? { job: m.job } : {}), detail: `${m.event} for ${channel} dropped: ${reason}` });
}

/**
 * Retires the waiting rows of channels no longer in the config (removed, or an unnamed one
 * whose destination changed, which makes it another channel), with an event: nothing will
 * ever send them. Rows waiting under a channel's name from before names were hashes
 * (`webhook-1`) move to its name now.
 */
export function retireDeparted(ctx: AppContext): void {
  const outbox = new Outbox(ctx.catalog.db);
  const configured = new Set(ctx.config.alerts.map((a) => channelName(a)));
  const renamed = new Map<string, string>();
  ctx.config.alerts.forEach((a, i) => {
    const old = positionalName(a, i);
    if (old) renamed.set(old, channelName(a));
  });
  for (const name of outbox.channels()) {
    if (configured.has(name)) continue;
    const now = renamed.get(name);
    if (now) {
      outbox.rename(name, now);
      continue;
    }
    const count = outbox.retireChannel(name, "the channel is no longer in the config", ctx.now());
    ctx.catalog.addEvent({ at: ctx.now(), kind: "alert_retired", detail: `${count} alert(s) waiting for channel ${name} retired: it is no longer in the config (removed, or its destination changed)` });
  }
}

const CLAIM_MARGIN_MS = 30_000;
