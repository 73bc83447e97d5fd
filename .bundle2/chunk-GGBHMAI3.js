import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  channelName,
  wants
} from "./chunk-6OGFF74X.js";
import {
  describeError
} from "./chunk-RSPIC3EP.js";

// dist/policy/backoff.js
function retryDelayMs(attempts, baseMs = 6e4, maxMs = 36e5) {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

// dist/catalog/outbox.js
var Outbox = class {
  db;
  constructor(db) {
    this.db = db;
  }
  add(channel, event, at) {
    return Number(this.db.prepare(`INSERT INTO alert_outbox (channel, event, created_at, next_attempt_at) VALUES (?, ?, ?, ?)`).run(channel, event, at, at).lastInsertRowid);
  }
  /** Undelivered rows due at `now`, oldest first (all undelivered ones when `now` is undefined). */
  due(now) {
    return now === void 0 ? this.db.prepare(`SELECT * FROM alert_outbox WHERE delivered_at IS NULL ORDER BY id`).all() : this.db.prepare(`SELECT * FROM alert_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id`).all(now);
  }
  /** Takes a due row for one delivery attempt until `until`; false when someone else has it or it is done. */
  claim(id, now, until) {
    return this.db.prepare(`UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND next_attempt_at <= ?`).run(until, id, now).changes === 1;
  }
  delivered(id, at) {
    this.db.prepare(`UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, error = NULL WHERE id = ?`).run(at, id);
  }
  failed(id, error, nextAttemptAt) {
    this.db.prepare(`UPDATE alert_outbox SET attempts = attempts + 1, error = ?, next_attempt_at = ? WHERE id = ?`).run(error, nextAttemptAt, id);
  }
};

// dist/app/notify.js
var RETRY_BASE_MS = 1e4;
var RETRY_MAX_MS = 6e5;
function notify(ctx, m) {
  const outbox = new Outbox(ctx.catalog.db);
  let queued = 0;
  ctx.config.alerts.forEach((alert, i) => {
    if (!wants(alert, m))
      return;
    outbox.add(channelName(alert, i), JSON.stringify(m), ctx.now());
    queued++;
  });
  ctx.catalog.addEvent({ at: ctx.now(), kind: `alert_${m.event}`, ...m.job ? { job: m.job } : {}, detail: m.message });
  return queued;
}
async function deliverDue(ctx) {
  const outbox = new Outbox(ctx.catalog.db);
  const channels = new Map(ctx.config.alerts.map((a, i) => [channelName(a, i), a]));
  const results = [];
  const due = outbox.due(ctx.now());
  if (due.length === 0)
    return results;
  const { deliver } = await import("./channels-EAFKVCXR.js");
  for (const row of due) {
    const channel = channels.get(row.channel);
    if (!channel) {
      outbox.failed(row.id, "the channel is no longer in the config", Number.MAX_SAFE_INTEGER);
      continue;
    }
    if (!outbox.claim(row.id, ctx.now(), ctx.now() + channel.timeout * 1e3 + CLAIM_MARGIN_MS))
      continue;
    const m = JSON.parse(row.event);
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
var CLAIM_MARGIN_MS = 3e4;

export {
  retryDelayMs,
  notify,
  deliverDue
};
