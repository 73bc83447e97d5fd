import { deliver } from "../../alerts/channels.js";
import { alertMessage } from "../../alerts/message.js";
import { channelName } from "../../config/channel-name.js";
import type { AppContext } from "../../app/context.js";
import { describeError, UsageError } from "../../errors.js";
import type { Output } from "../io.js";
import { json } from "../render.js";
import type { AlertsTestOutput } from "../json-output.js";
import type { AlertConfig } from "../../config/schema.js";
import { redactUrl } from "../../config/url.js";

/** Where a channel delivers, as an operator recognises it; never a credential. */
function destination(alert: AlertConfig): string {
  switch (alert.type) {
    case "webhook":
      return redactUrl(alert.url);
    case "email":
      return `${alert.to.join(", ")} via ${alert.smtp.host}:${alert.smtp.port}`;
    case "command":
      return alert.command[0]!;
  }
}

/** `drctl alerts test`: a test event through each channel, straight away (not through the outbox); exit 1 if any failed. */
export async function alertsTestCommand(ctx: AppContext, io: Output, opts: { channel?: string; json?: boolean }): Promise<number> {
  const channels = ctx.config.alerts.map((a) => ({ name: channelName(a), alert: a }));
  if (channels.length === 0) throw new UsageError("no alerts are configured (alerts: in the config)");
  const chosen = opts.channel ? channels.filter((c) => c.name === opts.channel) : channels;
  if (chosen.length === 0) throw new UsageError(`no alert channel "${opts.channel}" (channels: ${channels.map((c) => c.name).join(", ")})`);
  const message = alertMessage("test", null, "drd alert test: if you read this, this channel reaches you", {}, ctx.now());
  const results: AlertsTestOutput = [];
  for (const c of chosen) {
    const to = destination(c.alert);
    try {
      await deliver(c.alert, message);
      results.push({ channel: c.name, type: c.alert.type, to, ok: true, error: null });
    } catch (err) {
      results.push({ channel: c.name, type: c.alert.type, to, ok: false, error: describeError(err) });
    }
  }
  if (opts.json) io.out(json(results));
  else for (const r of results) io.out(`${r.channel} (${r.type} to ${r.to}): ${r.ok ? "delivered" : `FAILED: ${r.error}`}`);
  return results.every((r) => r.ok) ? 0 : 1;
}
