import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  parseDuration
} from "./chunk-O533N2YG.js";
import {
  json,
  table
} from "./chunk-2VLLPNS3.js";
import {
  UsageError
} from "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/events.js
function eventsCommand(ctx, io, opts) {
  const since = opts.since === void 0 ? 0 : sinceTime(opts.since, ctx.now());
  const limit = opts.limit === void 0 ? 1e3 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError("--limit must be a whole number above 0");
  const rows = ctx.catalog.events({ ...opts.job ? { job: opts.job } : {}, since, limit });
  const shown = rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  if (opts.json)
    io.out(json(shown));
  else if (shown.length === 0)
    io.out("no events");
  else
    io.out(table(["TIME", "EVENT", "JOB", "BACKUP", "TARGET", "DETAIL"], shown.map((r) => [r.at, r.kind, r.job ?? "", r.backup_id ?? "", r.target ?? "", r.detail ?? ""])));
  return 0;
}
function sinceTime(text, now) {
  const ago = parseDuration(text);
  if (ago !== void 0)
    return now - ago * 1e3;
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new UsageError(`--since: give a time (2026-11-23T10:00:00Z) or a duration back from now (2h, 7d), not ${JSON.stringify(text)}`);
  return at;
}
export {
  eventsCommand
};
