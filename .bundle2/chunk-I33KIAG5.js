import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  policyVerdict
} from "./chunk-6PXD3LAL.js";
import {
  deliverDue,
  notify
} from "./chunk-GGBHMAI3.js";
import {
  alertMessage
} from "./chunk-6OGFF74X.js";

// dist/catalog/objectives.js
var ObjectiveStore = class {
  db;
  constructor(db) {
    this.db = db;
  }
  current(job, objective) {
    return this.db.prepare(`SELECT * FROM objective_state WHERE job = ? AND objective = ?`).get(job, objective);
  }
  all() {
    return this.db.prepare(`SELECT * FROM objective_state ORDER BY job, objective`).all();
  }
  /** Records a new state and its transition in one transaction. */
  change(row, from, detail) {
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO objective_state (job, objective, state, since, value_ms, notified_at) VALUES (@job, @objective, @state, @since, @value_ms, NULL)
             ON CONFLICT (job, objective) DO UPDATE SET state = excluded.state, since = excluded.since, value_ms = excluded.value_ms, notified_at = NULL`).run(row);
      this.db.prepare(`INSERT INTO objective_transitions (job, objective, from_state, to_state, at, value_ms, prev_max_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(row.job, row.objective, from?.state ?? null, row.state, row.since, row.value_ms, from?.value_ms ?? null, detail);
    }).immediate();
  }
  /** The age or duration of the current state, kept up to date (the worst age of an open breach). */
  touch(job, objective, valueMs) {
    this.db.prepare(`UPDATE objective_state SET value_ms = max(coalesce(value_ms, 0), ?) WHERE job = ? AND objective = ?`).run(valueMs ?? 0, job, objective);
  }
  markNotified(job, objective, at) {
    this.db.prepare(`UPDATE objective_state SET notified_at = ? WHERE job = ? AND objective = ?`).run(at, job, objective);
  }
  /** Transitions of a job's objective from `since` on, and the last one before it (the state the window starts in). */
  transitions(job, objective, since) {
    const before = this.db.prepare(`SELECT * FROM objective_transitions WHERE job = ? AND objective = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1`).get(job, objective, since);
    const after = this.db.prepare(`SELECT * FROM objective_transitions WHERE job = ? AND objective = ? AND at > ? ORDER BY at, id`).all(job, objective, since);
    return before ? [before, ...after] : after;
  }
};

// dist/policy/objectives.js
function rpoVerdict(i) {
  if (i.lastGoodSnapshotAt !== void 0) {
    const ageMs2 = Math.max(0, i.now - i.lastGoodSnapshotAt);
    return { state: ageMs2 <= i.rpoMs ? "ok" : "breach", ageMs: ageMs2 };
  }
  if (i.firstRunAt === void 0)
    return { state: "never", ageMs: null };
  const ageMs = Math.max(0, i.now - i.firstRunAt);
  return { state: ageMs > i.rpoMs ? "breach" : "never", ageMs };
}
function rtoVerdict(i) {
  const drills = [...i.drills].sort((a, b) => b.at - a.at);
  const newest = drills[0];
  const proven = drills.find((d) => d.ok && d.rtoProven);
  if (!newest)
    return { state: "untested", reason: "no drill has run", proven };
  if (!newest.ok)
    return { state: "breach", reason: "the newest drill failed", proven };
  if (!proven)
    return { state: "untested", reason: "no drill has restored this job (integrity checked only)", proven };
  if (i.now - proven.at > i.maxAgeMs)
    return { state: "breach", reason: `no drill proved a restore within ${Math.round(i.maxAgeMs / 36e5)} h`, proven };
  if (i.rtoMs !== null && proven.durationMs > i.rtoMs)
    return { state: "breach", reason: `the newest good drill took ${(proven.durationMs / 1e3).toFixed(1)} s, over the RTO of ${i.rtoMs / 1e3} s`, proven };
  return { state: "ok", reason: null, proven };
}
function windowFigures(transitions, from, to) {
  const sorted = [...transitions].sort((a, b) => a.at - b.at);
  let state;
  let since = from;
  let okMs = 0;
  let countedMs = 0;
  let breaches = 0;
  let longest = 0;
  const close = (until) => {
    if (state === void 0 || until <= since)
      return;
    countedMs += until - since;
    if (state === "ok")
      okMs += until - since;
    if (state === "breach")
      longest = Math.max(longest, until - since);
  };
  for (const t of sorted) {
    if (t.at > to)
      break;
    if (t.at <= from) {
      state = t.to;
      continue;
    }
    close(t.at);
    if (t.to === "breach" && state !== "breach")
      breaches++;
    state = t.to;
    since = t.at;
  }
  if (lastAtOrBefore(sorted, from)?.to === "breach")
    breaches++;
  close(to);
  return { share_ok: countedMs > 0 ? okMs / countedMs : null, breaches, longest_breach_ms: longest };
}
function lastAtOrBefore(sorted, at) {
  let found;
  for (const t of sorted) {
    if (t.at > at)
      break;
    found = t;
  }
  return found;
}

// dist/app/objectives.js
var DEFAULT_DRILL_MAX_AGE_MS = 8 * 864e5;
var GOOD_BACKUP_SCAN = 500;
var DRILL_SCAN = 100;
function assessJob(ctx, name, job, now) {
  const lastGood = newestGoodBackup(ctx, name);
  const firstRun = ctx.catalog.db.prepare(`SELECT min(started_at) AS at FROM runs WHERE job = ?`).get(name)?.at ?? void 0;
  const drills = ctx.catalog.db.prepare(`SELECT id, started_at, finished_at, ok, phases, target, error FROM drills WHERE job = ? AND finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT ?`).all(name, DRILL_SCAN);
  const facts = drills.map((d) => ({
    at: d.finished_at,
    ok: d.ok === 1,
    rtoProven: d.ok === 1 && (d.phases ? JSON.parse(d.phases).rto_proven === true : false),
    durationMs: d.finished_at - d.started_at
  }));
  const newest = drills[0];
  return {
    job: name,
    rpoMs: job.rpo * 1e3,
    rtoMs: job.rto === void 0 ? null : job.rto * 1e3,
    lastGood,
    rpo: rpoVerdict({ now, rpoMs: job.rpo * 1e3, lastGoodSnapshotAt: lastGood?.snapshot_at, firstRunAt: firstRun }),
    rto: rtoVerdict({ now, rtoMs: job.rto === void 0 ? null : job.rto * 1e3, maxAgeMs: job.drill?.max_age === void 0 ? DEFAULT_DRILL_MAX_AGE_MS : job.drill.max_age * 1e3, drills: facts }),
    lastDrill: newest && {
      id: newest.id,
      at: newest.finished_at,
      ok: newest.ok === 1,
      rto_proven: facts[0].rtoProven,
      duration_ms: facts[0].durationMs,
      from: newest.target,
      error: newest.error
    }
  };
}
function newestGoodBackup(ctx, job) {
  const copiesOf = ctx.catalog.db.prepare(`SELECT target, state FROM copies WHERE backup_id = ?`);
  const rows = ctx.catalog.db.prepare(`SELECT id, snapshot_at FROM backups WHERE job = ? ORDER BY snapshot_at DESC, id DESC LIMIT ?`).iterate(job, GOOD_BACKUP_SCAN);
  for (const row of rows) {
    if (policyVerdict(ctx.config, copiesOf.all(row.id)).ok)
      return row;
  }
  return void 0;
}
function evaluateObjectives(ctx) {
  const store = new ObjectiveStore(ctx.catalog.db);
  const out = [];
  for (const [name, job] of Object.entries(ctx.config.jobs)) {
    ctx.catalog.db.transaction(() => {
      const now = ctx.now();
      const a = assessJob(ctx, name, job, now);
      out.push(a);
      track(ctx, store, name, "rpo", a.rpo.state, a.rpo.ageMs, now, rpoWords(a));
      track(ctx, store, name, "rto", a.rto.state, a.rto.proven?.durationMs ?? null, now, rtoWords(a));
    }).immediate();
  }
  return out;
}
async function settleObjectives(ctx) {
  const assessments = evaluateObjectives(ctx);
  return { assessments, deliveries: await deliverDue(ctx) };
}
function track(ctx, store, job, objective, state, valueMs, now, words) {
  const current = store.current(job, objective);
  if (current?.state === state) {
    store.touch(job, objective, valueMs);
    if (state === "breach" && now - (current.notified_at ?? current.since) >= ctx.config.renotify * 1e3) {
      notify(ctx, alertMessage(`${objective}_breach`, job, `still: ${words.breach}`, { objective, since: new Date(current.since).toISOString(), value_seconds: seconds(valueMs), renotify: true }, now));
      store.markNotified(job, objective, now);
    }
    return;
  }
  const worst = current?.state === "breach" ? Math.max(current.value_ms ?? 0, valueMs ?? 0) : valueMs;
  store.change({ job, objective, state, since: now, value_ms: valueMs }, current, state === "breach" ? words.breach : null);
  if (state === "breach") {
    notify(ctx, alertMessage(`${objective}_breach`, job, words.breach, { objective, from: current?.state ?? null, value_seconds: seconds(valueMs) }, now));
    store.markNotified(job, objective, now);
  } else if (current?.state === "breach" && state === "ok") {
    const lasted = now - current.since;
    notify(ctx, alertMessage(`${objective}_recovered`, job, `${words.recovered} (the breach lasted ${human(lasted)})`, { objective, breach_seconds: seconds(lasted), worst_seconds: seconds(worst) }, now));
  }
}
function rpoWords(a) {
  const rpo = human(a.rpoMs);
  return {
    breach: a.lastGood ? `${a.job}: the newest backup that meets the policy is ${human(a.rpo.ageMs ?? 0)} old, over its RPO of ${rpo}` : `${a.job}: no backup has met the policy since the job was first run ${human(a.rpo.ageMs ?? 0)} ago (RPO ${rpo})`,
    recovered: `${a.job} is within its RPO of ${rpo} again: backup ${a.lastGood?.id ?? "?"} meets the policy`
  };
}
function rtoWords(a) {
  return {
    breach: `${a.job}: RTO not met: ${a.rto.reason ?? "unknown"}`,
    recovered: `${a.job} meets its RTO again: a drill restored it in ${human(a.rto.proven?.durationMs ?? 0)}`
  };
}
var seconds = (ms) => ms === null ? null : Math.round(ms / 1e3);
function human(ms) {
  if (ms < 9950)
    return `${(ms / 1e3).toFixed(1)} s`;
  const s = Math.round(ms / 1e3);
  if (s < 120)
    return `${s} s`;
  if (s < 7200)
    return `${Math.round(s / 60)} min`;
  if (s < 172800)
    return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export {
  ObjectiveStore,
  windowFigures,
  DEFAULT_DRILL_MAX_AGE_MS,
  assessJob,
  evaluateObjectives,
  settleObjectives,
  human
};
