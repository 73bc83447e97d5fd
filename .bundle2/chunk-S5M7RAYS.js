import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  policyVerdict
} from "./chunk-6PXD3LAL.js";
import {
  jobOf
} from "./chunk-LJO7CHKX.js";
import {
  MANIFEST_NAME,
  SIGNATURE_NAME,
  backupPrefix
} from "./chunk-GBAX6DVE.js";
import {
  describeError
} from "./chunk-RSPIC3EP.js";
import {
  audit
} from "./chunk-FIZQLTWE.js";

// dist/policy/retention.js
var EmptyRetentionError = class extends Error {
  constructor() {
    super("retention has no rule: refusing to plan (it would remove every backup)");
  }
};
var BUCKETS = [
  ["keep_hourly", "hourly"],
  ["keep_daily", "daily"],
  ["keep_weekly", "weekly"],
  ["keep_monthly", "monthly"],
  ["keep_yearly", "yearly"]
];
function hasRules(rules) {
  return Object.values(rules).some((v) => v !== void 0);
}
function planRetention(candidates, rules, timezone = "UTC") {
  if (!hasRules(rules))
    throw new EmptyRetentionError();
  const sorted = [...candidates].sort((a, b) => b.snapshotAt - a.snapshotAt || (a.id < b.id ? 1 : -1));
  const decisions = sorted.map((c) => ({ id: c.id, snapshotAt: c.snapshotAt, keep: false, reasons: [] }));
  const keep = (i, reason) => {
    decisions[i].keep = true;
    decisions[i].reasons.push(reason);
  };
  const newestGood = sorted.findIndex((c) => c.good);
  if (newestGood === -1) {
    decisions.forEach((_, i) => keep(i, "no backup meets the policy yet"));
    return decisions;
  }
  keep(newestGood, "newest backup that meets the policy");
  for (let i = 0; i < newestGood; i++)
    keep(i, "newer than the newest backup that meets the policy");
  if (rules.keep_last)
    for (let i = 0; i < Math.min(rules.keep_last, sorted.length); i++)
      keep(i, `keep_last ${rules.keep_last}`);
  for (const [rule, granularity] of BUCKETS) {
    const limit = rules[rule];
    if (!limit)
      continue;
    const seen = /* @__PURE__ */ new Set();
    for (let i = 0; i < sorted.length && seen.size < limit; i++) {
      const bucket = bucketOf(sorted[i].snapshotAt, granularity, timezone);
      if (seen.has(bucket))
        continue;
      seen.add(bucket);
      keep(i, `${granularity} ${bucket}`);
    }
  }
  if (rules.max_age !== void 0) {
    const oldestKept = sorted[newestGood].snapshotAt - rules.max_age * 1e3;
    sorted.forEach((c, i) => {
      if (c.snapshotAt >= oldestKept)
        keep(i, `within max_age of the newest good backup`);
    });
  }
  for (const d of decisions)
    if (!d.keep)
      d.reasons.push("no rule keeps it");
  return decisions;
}
var formatters = /* @__PURE__ */ new Map();
function partsIn(ms, timezone) {
  if (timezone === "UTC") {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
  }
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit" });
    formatters.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour) };
}
function bucketOf(ms, granularity, timezone) {
  const { year, month, day, hour } = partsIn(ms, timezone);
  const pad = (n) => String(n).padStart(2, "0");
  switch (granularity) {
    case "hourly":
      return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}`;
    case "daily":
      return `${year}-${pad(month)}-${pad(day)}`;
    case "weekly": {
      const [isoYear, week] = isoWeek(year, month, day);
      return `${isoYear}-W${pad(week)}`;
    }
    case "monthly":
      return `${year}-${pad(month)}`;
    case "yearly":
      return `${year}`;
  }
}
function isoWeek(year, month, day) {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return [date.getUTCFullYear(), Math.ceil(((date.getTime() - yearStart) / 864e5 + 1) / 7)];
}

// dist/app/prune.js
var PRUNE_CHUNK = 500;
async function prune(ctx, options = {}) {
  if (options.job)
    jobOf(ctx, options.job);
  const report = { dry_run: options.dryRun ?? false, actions: [], kept: 0, removed: 0, skipped: 0, errors: [] };
  const now = ctx.now();
  for (const [targetName, target] of Object.entries(ctx.config.targets)) {
    if (!target.retention)
      continue;
    for (const [jobName, job] of Object.entries(ctx.config.jobs)) {
      if (options.job && jobName !== options.job)
        continue;
      if (!job.targets.includes(targetName))
        continue;
      const backups = ctx.catalog.retentionView(jobName).filter((b) => b.copies.some((c) => c.target === targetName && c.state !== "deleted"));
      const plan = planRetention(backups.map((b) => ({ id: b.id, snapshotAt: b.snapshot_at, good: policyVerdict(ctx.config, b.copies).ok })), target.retention, ctx.config.timezone);
      const copiesById = new Map(backups.map((b) => [b.id, b.copies]));
      const toRemove = [];
      for (const decision of plan) {
        const action = {
          target: targetName,
          job: jobName,
          backup_id: decision.id,
          snapshot_at: new Date(decision.snapshotAt).toISOString(),
          action: decision.keep ? "keep" : "remove",
          reasons: decision.reasons
        };
        const lockedUntil = lockedUntilOf(ctx.config, targetName, copiesById.get(decision.id), now);
        if (!decision.keep && lockedUntil !== void 0) {
          action.action = "skip";
          action.reasons = [...decision.reasons, `under Object Lock until ${new Date(lockedUntil).toISOString()}`];
        }
        report.actions.push(action);
        if (action.action === "remove")
          toRemove.push(decision.id);
      }
      if (!options.dryRun)
        await removeInChunks(ctx, targetName, toRemove, report);
    }
  }
  report.kept = report.actions.filter((a) => a.action === "keep").length;
  report.skipped = report.actions.filter((a) => a.action === "skip").length;
  if (options.dryRun)
    report.removed = report.actions.filter((a) => a.action === "remove").length;
  return report;
}
function lockedUntilOf(config, target, copies, now) {
  const t = config.targets[target];
  if (t?.type !== "s3" || !t.object_lock)
    return void 0;
  const writtenAt = copies?.find((c) => c.target === target)?.written_at;
  if (writtenAt === null || writtenAt === void 0)
    return void 0;
  const until = writtenAt + t.object_lock.days * 864e5;
  return until > now ? until : void 0;
}
async function removeInChunks(ctx, targetName, ids, report) {
  const target = ctx.targets.get(targetName);
  for (let i = 0; i < ids.length; i += PRUNE_CHUNK) {
    const chunk = ids.slice(i, i + PRUNE_CHUNK);
    const names = ctx.catalog.artifactNames(chunk);
    const prefixes = chunk.flatMap((id) => names.has(id) ? [{ prefix: backupPrefix(names.get(id).job, id), names: names.get(id).names }] : []);
    const keys = [...prefixes.flatMap((p) => [p.prefix + MANIFEST_NAME, p.prefix + SIGNATURE_NAME]), ...prefixes.flatMap((p) => p.names.map((n) => p.prefix + n))];
    try {
      await target.delete(keys);
    } catch (err) {
      report.errors.push(describeError(err));
      continue;
    }
    ctx.catalog.markCopiesDeleted(targetName, chunk);
    audit(ctx, { event: "prune_delete", outcome: "ok", target: targetName, detail: { backup_ids: chunk } });
    report.removed += chunk.length;
  }
  if (ids.length > 0)
    ctx.catalog.addEvent({ at: ctx.now(), kind: "pruned", target: targetName, detail: `${ids.length} backup(s)` });
}

export {
  PRUNE_CHUNK,
  prune
};
