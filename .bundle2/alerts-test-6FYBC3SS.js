import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  deliver
} from "./chunk-FXXG3BTG.js";
import "./chunk-G2AMMR5O.js";
import "./chunk-VKGJIJQW.js";
import {
  alertMessage,
  channelName
} from "./chunk-6OGFF74X.js";
import {
  json
} from "./chunk-2VLLPNS3.js";
import {
  UsageError,
  describeError
} from "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/alerts-test.js
async function alertsTestCommand(ctx, io, opts) {
  const channels = ctx.config.alerts.map((a, i) => ({ name: channelName(a, i), alert: a }));
  if (channels.length === 0)
    throw new UsageError("no alerts are configured (alerts: in the config)");
  const chosen = opts.channel ? channels.filter((c) => c.name === opts.channel) : channels;
  if (chosen.length === 0)
    throw new UsageError(`no alert channel "${opts.channel}" (channels: ${channels.map((c) => c.name).join(", ")})`);
  const message = alertMessage("test", null, "drd alert test: if you read this, this channel reaches you", {}, ctx.now());
  const results = [];
  for (const c of chosen) {
    try {
      await deliver(c.alert, message);
      results.push({ channel: c.name, type: c.alert.type, ok: true, error: null });
    } catch (err) {
      results.push({ channel: c.name, type: c.alert.type, ok: false, error: describeError(err) });
    }
  }
  if (opts.json)
    io.out(json(results));
  else
    for (const r of results)
      io.out(`${r.channel} (${r.type}): ${r.ok ? "delivered" : `FAILED: ${r.error}`}`);
  return results.every((r) => r.ok) ? 0 : 1;
}
export {
  alertsTestCommand
};
