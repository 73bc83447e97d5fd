import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ObjectiveStore,
  assessJob,
  windowFigures
} from "./chunk-I33KIAG5.js";
import {
  policyVerdict
} from "./chunk-6PXD3LAL.js";
import {
  require_dist
} from "./chunk-TAK6QB6Z.js";
import {
  UsageError
} from "./chunk-RSPIC3EP.js";
import {
  __toESM
} from "./chunk-CB5SUWAA.js";

// dist/policy/schedule.js
var import_cron_parser = __toESM(require_dist(), 1);
function nextSlot(expression, timezone, after) {
  return import_cron_parser.CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(after) }).next().getTime();
}
function missedSlot(expression, timezone, lastSuccessAt, now) {
  let previous = import_cron_parser.CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(now + 1) }).prev().getTime();
  for (let n = nextSlot(expression, timezone, previous); n <= now; n = nextSlot(expression, timezone, n))
    previous = n;
  if (lastSuccessAt === void 0)
    return previous;
  return previous > lastSuccessAt ? previous : void 0;
}

// dist/app/status.js
var iso = (ms) => ms === null || ms === void 0 ? null : new Date(ms).toISOString();
var secs = (ms) => ms === null || ms === void 0 ? null : Math.round(ms / 100) / 10;
function jobStatuses(ctx, options) {
  if (options.job && !(options.job in ctx.config.jobs))
    throw new UsageError(`unknown job "${options.job}" (jobs: ${Object.keys(ctx.config.jobs).join(", ")})`);
  const now = ctx.now();
  const from = now - options.windowMs;
  const store = new ObjectiveStore(ctx.catalog.db);
  return Object.entries(ctx.config.jobs).filter(([name]) => !options.job || name === options.job).map(([name, job]) => {
    const a = assessJob(ctx, name, job, now);
    const newest = ctx.catalog.db.prepare(`SELECT id FROM backups WHERE job = ? ORDER BY snapshot_at DESC, id DESC LIMIT 1`).get(name);
    const newestView = newest ? ctx.catalog.getBackup(newest.id) : void 0;
    const rpoTransitions = store.transitions(name, "rpo", from);
    const rpoFigures = windowFigures(rpoTransitions.map((t) => ({ at: t.at, to: t.to_state })), from, now);
    const current = store.current(name, "rpo");
    const ages = [
      ...rpoTransitions.filter((t) => t.at > from).flatMap((t) => [t.value_ms, t.prev_max_ms]),
      current?.value_ms,
      a.rpo.ageMs
    ].filter((v) => typeof v === "number");
    const drills = ctx.catalog.db.prepare(`SELECT ok, finished_at - started_at AS ms FROM drills WHERE job = ? AND finished_at IS NOT NULL AND finished_at > ?`).all(name, from);
    const passed = drills.filter((d) => d.ok === 1);
    const policy = newestView ? policyVerdict(ctx.config, newestView.copies).ok : null;
    return {
      job: name,
      last_backup_id: a.lastGood?.id ?? null,
      last_backup_at: iso(a.lastGood?.snapshot_at),
      age_seconds: a.lastGood ? secs(a.rpo.ageMs) : null,
      rpo_seconds: job.rpo,
      rpo_state: a.rpo.state,
      newest_backup_id: newest?.id ?? null,
      policy_ok: policy,
      copies: (newestView?.copies ?? []).map((c) => ({ target: c.target, state: c.state, verified_at: iso(c.verified_at), error: c.error })),
      next_backup_at: iso(nextSlot(job.schedule, ctx.config.timezone, now)),
      next_drill_at: job.drill?.schedule ? iso(nextSlot(job.drill.schedule, ctx.config.timezone, now)) : null,
      last_drill: a.lastDrill ? { at: iso(a.lastDrill.at), ok: a.lastDrill.ok, duration_seconds: secs(a.lastDrill.duration_ms), from: a.lastDrill.from, rto_proven: a.lastDrill.rto_proven, error: a.lastDrill.error } : null,
      rto_seconds: job.rto ?? null,
      rto_state: a.rto.state,
      rto_reason: a.rto.reason,
      measured_rto_seconds: secs(a.rto.proven?.durationMs),
      window: {
        seconds: options.windowMs / 1e3,
        rpo: {
          share_ok: rpoFigures.share_ok === null ? null : Math.round(rpoFigures.share_ok * 1e4) / 1e4,
          breaches: rpoFigures.breaches,
          longest_breach_seconds: secs(rpoFigures.longest_breach_ms),
          worst_age_seconds: ages.length ? secs(Math.max(...ages)) : null
        },
        rto: { drills_passed: passed.length, drills_failed: drills.length - passed.length, slowest_seconds: passed.length ? secs(Math.max(...passed.map((d) => d.ms))) : null }
      }
    };
  });
}
function anyBreach(statuses) {
  return statuses.some((s) => s.rpo_state === "breach" || s.rto_state === "breach");
}

export {
  nextSlot,
  missedSlot,
  jobStatuses,
  anyBreach
};
