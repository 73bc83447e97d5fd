import { channelName, wants, type AlertMessage } from "../alerts/message.js";
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
 * Delivers every outbox row that is due: each at most once at a time, a failure recorded
 * with its reason and retried with backoff. A channel no longer in the config is retired
 * with that reason. Never throws for a channel's failure.
 */
export async function deliverDue(ctx: AppContext): Promise<DeliveryResult[]> {
  const outbox = new Outbox(ctx.catalog.db);
  const channels = new Map(ctx.config.alerts.map((a, i) => [channelName(a, i), a]));
  const results: DeliveryResult[] = [];
  const due = outbox.due(ctx.now());
  if (due.length === 0) return results;
  // Loaded only when there is something to send: status and most runs never need it.
  const { deliver } = await import("../alerts/channels.js");
  for (const row of due) {
    const channel = channels.get(row.channel);
    if (!channel) {
      outbox.failed(row.id, "the channel is no longer in the config", Number.MAX_SAFE_INTEGER);
      continue;
    }
    // Claimed for as long as a delivery may take: another drctl (the daemon) leaves it alone
    // meanwhile, and after a crash it is due again.
    if (!outbox.claim(row.id, ctx.now(), ctx.now() + channel.timeout * 1000 + CLAIM_MARGIN_MS)) continue;
    const m = JSON.parse(row.event) as AlertMessage;
    try {
      await deliver(channel, m);
      outbox.delivered(row.id, ctx.now());
      results.push({ channel: row.channel, event: m.event, job: m.job, ok: true, error: null });
    } catch (err) {
      const error = describeError(err);
      outbox.failed(row.id, error, ctx.now() + retryDelayMs(row.attempts + 1, RETRY_BASE_MS, RETRY_MAX_MS));
      results.push({ channel: row.channel, event: m.event, job: m.job, ok: false, error });
    }
  }
  return results;
}

const CLAIM_MARGIN_MS = 30_000;
