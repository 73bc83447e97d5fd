import type { AppContext } from "../../app/context.js";
import { parseDuration } from "../../config/duration.js";
import { UsageError } from "../../errors.js";
import type { Output } from "../io.js";
import type { EventsOutput } from "../json-output.js";
import { json, table } from "../render.js";

const MAX_LIMIT = 1_000_000;

/** `drctl events`: what the catalog recorded, oldest first: failures, breaches and recoveries, alerts, restores, drills, prunes. */
export function eventsCommand(ctx: AppContext, io: Output, opts: { job?: string; since?: string; limit?: string; json?: boolean }): number {
  const since = opts.since === undefined ? 0 : sinceTime(opts.since, ctx.now());
  const limit = opts.limit === undefined ? 1000 : Number(opts.limit);
  // Bounded here: a number past SQLite's integer range would reach the catalog as a float.
  if (!/^\d+$/.test(opts.limit ?? "1") || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}, not ${JSON.stringify(opts.limit)}`);
  const rows = ctx.catalog.events({ ...(opts.job ? { job: opts.job } : {}), since, limit });
  if (opts.json) {
    const out: EventsOutput = rows.map(({ at, kind, ...r }) => ({ at: new Date(at).toISOString(), event: kind, ...r, kind }));
    io.out(json(out));
  }
  else if (rows.length === 0) io.out("no events");
  else {
    // The backup, the target and the detail share the last column, which wraps on a terminal.
    const detail = (r: (typeof rows)[number]) => [r.backup_id, r.target && `on ${r.target}`, r.detail && `${r.backup_id || r.target ? "- " : ""}${r.detail}`].filter(Boolean).join(" ");
    io.out(table(["TIME", "EVENT", "JOB", "DETAIL"], rows.map((r) => [new Date(r.at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"), r.kind, r.job ?? "", detail(r)]), io.columns));
  }
  return 0;
}

/** `--since`: a time (ISO 8601) or a duration back from now (`2h`, `7d`). */
function sinceTime(text: string, now: number): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UsageError(`--since: give a time (2026-11-23T10:00:00Z) or a duration back from now (2h, 7d), not ${JSON.stringify(text)}`);
  return at;
}
