import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  jobStatuses,
  missedSlot,
  nextSlot
} from "./chunk-NSPPPXXN.js";
import {
  settleObjectives
} from "./chunk-I33KIAG5.js";
import {
  recoverInterruptedRuns
} from "./chunk-53XWSFGR.js";
import "./chunk-DUCIIMAT.js";
import {
  execa
} from "./chunk-VKGJIJQW.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import {
  assertStateDirOwner
} from "./chunk-GDSQPHHY.js";
import {
  loadConfig
} from "./chunk-4VWWJMEV.js";
import "./chunk-TAK6QB6Z.js";
import "./chunk-O533N2YG.js";
import {
  TargetRegistry,
  contextFor
} from "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import {
  ConfigError,
  OperationError,
  UsageError,
  describeError
} from "./chunk-RSPIC3EP.js";
import {
  audit
} from "./chunk-FIZQLTWE.js";
import {
  actingAsDaemon
} from "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";

// dist/daemon/lock.js
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
var DaemonLock = class _DaemonLock {
  db;
  constructor(db) {
    this.db = db;
  }
  static acquire(stateDir) {
    const db = new Database(join(stateDir, "daemon.lock"), { timeout: 0 });
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE");
    } catch (err) {
      db.close();
      if (err.code !== "SQLITE_BUSY")
        throw err;
      const pid = readPid(stateDir);
      throw new OperationError(`another drd daemon is running on ${stateDir}${pid ? ` (pid ${pid})` : ""}: stop it first (systemctl stop drd)`);
    }
    writeFileSync(join(stateDir, "daemon.pid"), `${process.pid}
`, { mode: 384 });
    return new _DaemonLock(db);
  }
  release() {
    this.db.close();
  }
};
function readPid(stateDir) {
  try {
    return readFileSync(join(stateDir, "daemon.pid"), "utf8").trim() || void 0;
  } catch {
    return void 0;
  }
}

// dist/daemon/logger.js
import { createRequire } from "node:module";
import { pino } from "pino";
function createLogger(level = process.env.DRD_LOG_LEVEL ?? "info", terminal = Boolean(process.stdout.isTTY)) {
  const options = {
    level,
    base: { service: "drd" },
    redact: { paths: ["password", "passphrase", "*.password", "*.passphrase", "secret", "*.secret"], censor: "********" },
    timestamp: pino.stdTimeFunctions.isoTime
  };
  if (!terminal)
    return pino(options);
  const pretty = createRequire(import.meta.url)("pino-pretty");
  return pino(options, pretty({ sync: true, colorize: true, singleLine: true, ignore: "pid,hostname,service", translateTime: "SYS:yyyy-mm-dd HH:MM:ss" }));
}

// dist/daemon/metrics-server.js
import { createServer } from "node:http";

// dist/app/metrics.js
var WINDOW_MS = 864e5;
function metricsSnapshot(ctx) {
  const db = ctx.catalog.db;
  const statuses = jobStatuses(ctx, { windowMs: WINDOW_MS });
  const lastRun = db.prepare(`SELECT finished_at - started_at AS ms FROM runs WHERE job = ? AND state = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1`);
  const lastSize = db.prepare(`SELECT size FROM backups WHERE job = ? ORDER BY snapshot_at DESC, id DESC LIMIT 1`);
  const runs = db.prepare(`SELECT state, count(*) AS n FROM runs WHERE job = ? GROUP BY state`);
  const copies = ctx.catalog.copyTotals();
  return {
    jobs: statuses.map((s) => ({
      job: s.job,
      lastGoodBackupAt: s.last_backup_at ? Date.parse(s.last_backup_at) : null,
      rpoSeconds: s.rpo_seconds,
      rpoBreach: s.rpo_state === "breach",
      lastBackupDurationSeconds: ((ms) => ms === void 0 ? null : ms / 1e3)(lastRun.get(s.job)?.ms),
      lastBackupSizeBytes: lastSize.get(s.job)?.size ?? null,
      runs: Object.fromEntries(runs.all(s.job).map((r) => [r.state, r.n])),
      policyOk: s.policy_ok,
      lastDrillAt: s.last_drill ? Date.parse(s.last_drill.at) : null,
      lastDrillDurationSeconds: s.last_drill?.duration_seconds ?? null,
      lastDrillOk: s.last_drill?.ok ?? null,
      rtoSeconds: s.rto_seconds,
      rtoBreach: s.rto_state === "breach"
    })),
    copies: copies.map(({ job, target, state, count }) => ({ job, target, state, count })),
    targets: Object.keys(ctx.config.targets).map((target) => ({
      target,
      storedBytes: copies.filter((c) => c.target === target && (c.state === "written" || c.state === "verified")).reduce((n, c) => n + c.bytes, 0),
      pendingCopies: copies.filter((c) => c.target === target && c.state === "pending").reduce((n, c) => n + c.count, 0)
    }))
  };
}

// dist/daemon/metrics-server.js
var MetricsServer = class {
  ctx;
  server;
  constructor(ctx) {
    this.ctx = ctx;
  }
  async start(listen) {
    const client = await import("./prom-client-KRWXL63M.js");
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix: "drd_", eventLoopMonitoringPrecision: 1e3 });
    const ctx = this.ctx;
    let snapshot;
    const gauge = (name, help, labelNames, fill) => new client.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this, snapshot ??= metricsSnapshot(ctx));
      }
    });
    const perJob = (name, help, value) => gauge(name, help, ["job"], (g, s) => {
      for (const j of s.jobs) {
        const v = value(j);
        if (v !== null)
          g.set({ job: j.job }, typeof v === "boolean" ? Number(v) : v);
      }
    });
    perJob("drd_job_last_good_backup_timestamp_seconds", "Snapshot time of the newest backup that meets the 3-2-1 policy.", (j) => j.lastGoodBackupAt === null ? null : j.lastGoodBackupAt / 1e3);
    perJob("drd_job_rpo_seconds", "The job's recovery point objective.", (j) => j.rpoSeconds);
    perJob("drd_job_rpo_breach", "1 while the newest good backup is older than the RPO.", (j) => j.rpoBreach);
    perJob("drd_job_last_backup_duration_seconds", "Duration of the job's newest successful run.", (j) => j.lastBackupDurationSeconds);
    perJob("drd_job_last_backup_size_bytes", "Size of the job's newest backup (all artifacts).", (j) => j.lastBackupSizeBytes);
    perJob("drd_job_policy_ok", "1 when the job's newest backup meets the 3-2-1 policy.", (j) => j.policyOk);
    perJob("drd_job_last_drill_timestamp_seconds", "When the job's newest drill finished.", (j) => j.lastDrillAt === null ? null : j.lastDrillAt / 1e3);
    perJob("drd_job_last_drill_duration_seconds", "Duration of the job's newest drill (its measured RTO when it passed).", (j) => j.lastDrillDurationSeconds);
    perJob("drd_job_last_drill_success", "1 when the job's newest drill passed.", (j) => j.lastDrillOk);
    perJob("drd_job_rto_seconds", "The job's recovery time objective.", (j) => j.rtoSeconds);
    perJob("drd_job_rto_breach", "1 while the RTO is in breach (newest drill failed, too slow, or none recent).", (j) => j.rtoBreach);
    new client.Counter({
      name: "drd_job_runs_total",
      help: "Backup runs by outcome (succeeded, failed, interrupted, running), from the catalog.",
      labelNames: ["job", "outcome"],
      registers: [registry],
      collect() {
        this.reset();
        for (const j of (snapshot ??= metricsSnapshot(ctx)).jobs)
          for (const [outcome, n] of Object.entries(j.runs))
            this.inc({ job: j.job, outcome }, n);
      }
    });
    gauge("drd_copies", "Copies of the job's backups on each target, by state.", ["job", "target", "state"], (g, s) => {
      for (const c of s.copies)
        g.set({ job: c.job, target: c.target, state: c.state }, c.count);
    });
    gauge("drd_target_stored_bytes", "Bytes of the backups held on the target (written or verified copies).", ["target"], (g, s) => {
      for (const t of s.targets)
        g.set({ target: t.target }, t.storedBytes);
    });
    gauge("drd_target_pending_copies", "Copies waiting to be written to the target.", ["target"], (g, s) => {
      for (const t of s.targets)
        g.set({ target: t.target }, t.pendingCopies);
    });
    this.server = createServer((req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics")
        return void res.writeHead(404).end("GET /metrics\n");
      snapshot = void 0;
      registry.metrics().then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text), (err) => res.writeHead(500).end(`${err.message}
`));
    });
    const at = listen.lastIndexOf(":");
    const host = listen.slice(0, at).replace(/^\[|\]$/g, "");
    const port = Number(listen.slice(at + 1));
    await new Promise((resolve, reject) => {
      this.server.once("error", (err) => reject(new OperationError(`cannot serve metrics on ${listen}: ${err.code ?? err.message}`)));
      this.server.listen(port, host, resolve);
    });
    const address = this.server.address();
    return `${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
  }
  async stop() {
    const server = this.server;
    if (!server)
      return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve()));
  }
};

// dist/daemon/cron-timer.js
var MAX_SLEEP_MS = 3e4;
var CronTimer = class {
  expression;
  timezone;
  task;
  now;
  timer;
  due;
  running;
  stopped = false;
  constructor(expression, timezone, task, now = Date.now) {
    this.expression = expression;
    this.timezone = timezone;
    this.task = task;
    this.now = now;
    this.due = nextSlot(expression, timezone, this.now());
    this.arm();
  }
  /** When it fires next. */
  get next() {
    return new Date(this.due);
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
  arm() {
    if (this.stopped)
      return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(this.due - this.now(), MAX_SLEEP_MS)));
  }
  wake() {
    const now = this.now();
    if (now >= this.due) {
      this.due = nextSlot(this.expression, this.timezone, now);
      if (!this.running) {
        this.running = this.task().finally(() => this.running = void 0);
        this.running.catch(() => void 0);
      }
    }
    this.arm();
  }
};

// dist/daemon/watch.js
var HEARTBEAT_TIMEOUT_MS = 1e4;
var ObjectiveWatch = class {
  ctx;
  log;
  tick;
  beat;
  busy;
  again = false;
  last = [];
  constructor(ctx, log) {
    this.ctx = ctx;
    this.log = log;
  }
  start() {
    const shortest = Math.min(...Object.values(this.ctx.config.jobs).map((j) => j.rpo * 1e3), 24e4);
    const tickMs = Math.max(1e3, Math.floor(shortest / 4));
    this.tick = setInterval(() => void this.kick(), tickMs);
    if (this.ctx.config.heartbeat)
      this.beat = setInterval(() => void this.heartbeat(), Math.max(tickMs, Math.min(6e4, shortest)));
    void this.kick().then(() => this.heartbeat());
  }
  /** Evaluates and delivers now (after a run); a call while one is going runs once more after it. */
  kick() {
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      do {
        this.again = false;
        try {
          const settled = await settleObjectives(this.ctx);
          this.last = settled.assessments;
          for (const r of settled.deliveries) {
            if (r.ok)
              this.log.info(r, "alert delivered");
            else
              this.log.warn(r, "alert not delivered (will retry)");
          }
        } catch (err) {
          this.log.error({ error: describeError(err) }, "evaluating objectives failed");
        }
      } while (this.again);
    })().finally(() => this.busy = void 0);
    return this.busy;
  }
  /** Pings while every job is within its objectives, pings `/fail` when one is not: a dead daemon goes silent. */
  async heartbeat() {
    const hb = this.ctx.config.heartbeat;
    if (!hb)
      return;
    const failing = this.last.filter((a) => a.rpo.state === "breach" || a.rto.state === "breach").map((a) => a.job);
    const url = failing.length === 0 ? hb.url : `${hb.url.replace(/\/$/, "")}/fail`;
    try {
      const res = await fetch(url, { method: "POST", body: failing.length ? `in breach: ${failing.join(", ")}` : "ok", signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS) });
      await res.body?.cancel();
      if (!res.ok)
        this.log.warn({ status: res.status }, "heartbeat not accepted");
    } catch (err) {
      this.log.warn({ error: describeError(err) }, "heartbeat failed");
    }
  }
  async stop() {
    clearInterval(this.tick);
    clearInterval(this.beat);
    await this.busy;
  }
};

// dist/daemon/scheduler.js
var RETRY_CHECK_MS = 6e4;
var USE_CASES = {
  backup: async (...a) => (await import("./backup-3SAVPW4X.js")).runBackup(...a),
  prune: async (...a) => (await import("./prune-IRSAUVEP.js")).prune(...a),
  drill: async (...a) => (await import("./drill-OCLJCQ77.js")).runDrill(...a),
  replicate: async (...a) => (await import("./replicate-CNDRSX2Y.js")).replicatePending(...a)
};
var Scheduler = class {
  ctx;
  log;
  work;
  tasks = [];
  running = /* @__PURE__ */ new Set();
  /**
   * What runs now, by name ("backup database"): the status systemd shows, and how a backup
   * slot that comes while the job's backup still runs is skipped, also across a reload.
   */
  active = /* @__PURE__ */ new Map();
  abort = new AbortController();
  retryTimer;
  watch;
  constructor(ctx, log, work = USE_CASES) {
    this.ctx = ctx;
    this.log = log;
    this.work = work;
    this.watch = new ObjectiveWatch(ctx, log);
  }
  async start() {
    const recovered = await recoverInterruptedRuns(this.ctx);
    if (recovered.interruptedRuns > 0 || recovered.removedObjects > 0 || recovered.deferred.length > 0)
      this.log.warn(recovered, "cleaned up after interrupted runs");
    this.schedule(() => true);
    this.retryTimer = setInterval(() => void this.retryPending(), RETRY_CHECK_MS);
    this.watch.start();
  }
  /**
   * Puts a new config in force: jobs added, removed or rescheduled take effect at once;
   * runs already going finish with the config they started with. The state dir cannot
   * change (the catalog and its lock belong to it).
   */
  async reload(config) {
    const old = this.ctx.config;
    if (config.state_dir !== old.state_dir)
      throw new UsageError(`state_dir changed (${old.state_dir} -> ${config.state_dir}): restart drd to use another state dir`);
    const before = new Set(Object.keys(old.jobs));
    const added = Object.keys(config.jobs).filter((j) => !before.has(j));
    const removed = [...before].filter((j) => !(j in config.jobs));
    const rescheduled = Object.keys(config.jobs).filter((j) => before.has(j) && (old.jobs[j].schedule !== config.jobs[j].schedule || old.jobs[j].drill?.schedule !== config.jobs[j].drill?.schedule));
    for (const task of this.tasks.splice(0))
      task.timer.stop();
    await this.watch.stop();
    this.ctx = { ...this.ctx, config, targets: new TargetRegistry(config) };
    this.schedule((job) => added.includes(job));
    this.watch = new ObjectiveWatch(this.ctx, this.log);
    this.watch.start();
    return { added, removed, rescheduled };
  }
  /** One timer per job (and per drill schedule); a missed slot is caught up for the jobs `catchUp` names. */
  schedule(catchUp) {
    const { config } = this.ctx;
    for (const [name, job] of Object.entries(config.jobs)) {
      const task = new CronTimer(job.schedule, config.timezone, () => this.run(name, "schedule"));
      this.tasks.push({ what: `backup ${name}`, timer: task });
      const last = this.ctx.catalog.lastSnapshotAt(name);
      const missed = catchUp(name) ? missedSlot(job.schedule, config.timezone, last, this.ctx.now()) : void 0;
      if (missed !== void 0) {
        this.log.info({ job: name, missed: new Date(missed).toISOString() }, "running a backup missed while drd was down");
        void this.run(name, "catch-up");
      }
      this.log.info({ job: name, schedule: job.schedule, next: task.next.toISOString() }, "scheduled");
      if (job.drill?.schedule) {
        const drill = new CronTimer(job.drill.schedule, config.timezone, () => this.drill(name));
        this.tasks.push({ what: `drill ${name}`, timer: drill });
        this.log.info({ job: name, drill: job.drill.schedule, next: drill.next.toISOString() }, "drill scheduled");
      }
    }
  }
  /**
   * Runs `work` unless stopping; `stop()` waits for everything started here. Whatever
   * the work throws (a SQLite error, prune failing after a backup) is logged and the
   * daemon goes on: one failed task never ends the process.
   */
  track(what, work) {
    if (this.abort.signal.aborted)
      return Promise.resolve();
    this.active.set(what, (this.active.get(what) ?? 0) + 1);
    const done = Promise.resolve().then(work).catch((err) => this.log.error({ task: what, error: describeError(err) }, "scheduled task failed")).finally(() => this.watch.kick());
    this.running.add(done);
    void done.finally(() => {
      this.running.delete(done);
      const left = (this.active.get(what) ?? 1) - 1;
      if (left > 0)
        this.active.set(what, left);
      else
        this.active.delete(what);
    });
    return done;
  }
  drill(job) {
    return this.track(`drill ${job}`, () => this.work.drill(this.ctx, job, { signal: this.abort.signal }).then((o) => (o.ok ? this.log.info.bind(this.log) : this.log.error.bind(this.log))({ job, drill: o.id, ok: o.ok, backup: o.backup_id, from: o.from, seconds: o.duration_seconds, rto_proven: o.rto_proven, error: o.error, warnings: o.warnings }, "drill done"), (err) => this.log.error({ job, error: describeError(err) }, "drill failed to run")));
  }
  retryPending() {
    return this.track("replicate", () => this.work.replicate(this.ctx).then((results) => {
      for (const r of results)
        (r.state === "verified" ? this.log.info.bind(this.log) : this.log.warn.bind(this.log))(r, "copy retried");
    }, (err) => this.log.error({ error: describeError(err) }, "retrying pending copies failed")));
  }
  run(job, reason) {
    if (this.active.has(`backup ${job}`))
      return Promise.resolve();
    const started = Date.now();
    const ctx = this.ctx;
    return this.track(`backup ${job}`, () => this.work.backup(ctx, job, { trigger: "schedule", signal: this.abort.signal }).then(async (outcome) => {
      this.log.info({ job, reason, backup: outcome.id, bytes: outcome.size, ms: Date.now() - started, copies: outcome.copies }, "backup done");
      const pruned = await this.work.prune(ctx, { job });
      if (pruned.removed > 0 || pruned.skipped > 0 || pruned.errors.length > 0)
        this.log.info({ job, removed: pruned.removed, skipped: pruned.skipped, errors: pruned.errors }, "pruned");
    }, (err) => this.log.error({ job, reason, ms: Date.now() - started, error: describeError(err) }, "backup failed")));
  }
  /** One line for `systemctl status`: what runs now and what runs next. */
  summary() {
    const next = this.tasks.reduce((a, t) => a && a.timer.next <= t.timer.next ? a : t, void 0);
    const jobs = Object.keys(this.ctx.config.jobs).length;
    const parts = [`${jobs} job${jobs === 1 ? "" : "s"}`];
    if (this.active.size > 0)
      parts.push(`running: ${[...this.active.keys()].join(", ")}`);
    if (next)
      parts.push(`next: ${next.what} at ${next.timer.next.toISOString().replace(/\.\d{3}Z$/, "Z")}`);
    return parts.join("; ");
  }
  async stop(reason) {
    clearInterval(this.retryTimer);
    for (const task of this.tasks)
      task.timer.stop();
    this.abort.abort(new Error(reason));
    await Promise.allSettled([...this.running]);
    await this.watch.stop();
  }
};

// dist/daemon/systemd.js
var SEND_TIMEOUT_MS = 1e4;
var SystemdNotifier = class _SystemdNotifier {
  log;
  watchdogUsec;
  queue = Promise.resolve();
  watchdog;
  lastStatus = "";
  warned = false;
  constructor(log, watchdogUsec) {
    this.log = log;
    this.watchdogUsec = watchdogUsec;
  }
  /** A notifier when systemd started drd with a notify socket; undefined otherwise (a terminal, a test). */
  static fromEnv(env, log) {
    if (!env.NOTIFY_SOCKET)
      return void 0;
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === void 0 || Number(env.WATCHDOG_PID) === process.pid;
    return new _SystemdNotifier(log, Number.isFinite(usec) && usec > 0 && forUs ? usec : void 0);
  }
  /** READY=1 with a first status; starts the watchdog pings when systemd asked for them. */
  ready(status) {
    this.lastStatus = status;
    if (this.watchdogUsec !== void 0) {
      const everyMs = Math.max(100, Math.floor(this.watchdogUsec / 2e3));
      this.watchdog = setInterval(() => void this.send(["WATCHDOG=1"]), everyMs);
      this.log.info({ every_ms: everyMs }, "systemd watchdog pings started");
    }
    return this.send(["READY=1", `STATUS=${status}`]);
  }
  /** STATUS= when it changed since the last one sent. */
  status(status) {
    if (status === this.lastStatus)
      return this.queue;
    this.lastStatus = status;
    return this.send([`STATUS=${status}`]);
  }
  reloading() {
    return this.send(["RELOADING=1", "STATUS=reloading the config"]);
  }
  /** After a reload: READY=1 again with the new status. */
  reloaded(status) {
    this.lastStatus = status;
    return this.send(["READY=1", `STATUS=${status}`]);
  }
  /** STOPPING=1; the watchdog stops (a graceful stop may take longer than its interval). */
  stopping(status) {
    clearInterval(this.watchdog);
    this.watchdog = void 0;
    return this.send(["STOPPING=1", `STATUS=${status}`]);
  }
  /** Waits for what was queued. */
  async close() {
    clearInterval(this.watchdog);
    await this.queue;
  }
  send(fields) {
    this.queue = this.queue.then(async () => {
      try {
        await execa("systemd-notify", fields, { timeout: SEND_TIMEOUT_MS, stdin: "ignore" });
      } catch (err) {
        if (!this.warned)
          this.log.warn({ error: describeError(err), fields: fields.map((f) => f.split("=")[0]) }, "could not notify systemd");
        this.warned = true;
      }
    });
    return this.queue;
  }
};

// dist/cli/commands/daemon.js
var STATUS_POLL_MS = 5e3;
async function daemonCommand(configPath, opts) {
  if (process.getuid?.() === 0 && !opts.allowRoot)
    throw new UsageError("refusing to run as root: run drd as its own unprivileged user (see systemd/drd.service), or pass --allow-root");
  const log = createLogger();
  const config = loadConfig(configPath);
  assertStateDirOwner(config.state_dir, opts.allowRoot === true);
  const ctx = contextFor(config);
  let lock;
  try {
    lock = DaemonLock.acquire(ctx.config.state_dir);
  } catch (err) {
    ctx.catalog.close();
    throw err;
  }
  const onRejection = (err) => log.error({ error: describeError(err) }, "unhandled failure (the daemon goes on)");
  const scheduler = new Scheduler(ctx, log);
  const systemd = SystemdNotifier.fromEnv(process.env, log);
  const onHangup = () => void reload({ configPath, ctx, scheduler, log, systemd });
  process.on("unhandledRejection", onRejection);
  process.on("SIGHUP", onHangup);
  actingAsDaemon();
  const metrics = ctx.config.metrics ? new MetricsServer(ctx) : void 0;
  try {
    log.info({ config: configPath, jobs: Object.keys(ctx.config.jobs), pid: process.pid }, "drd starting");
    if (metrics)
      log.info({ listen: await metrics.start(ctx.config.metrics.listen) }, "metrics served at /metrics");
    await scheduler.start();
    await systemd?.ready(scheduler.summary());
    const statusPoll = systemd ? setInterval(() => void systemd.status(scheduler.summary()), STATUS_POLL_MS) : void 0;
    await new Promise((resolve) => {
      if (opts.shutdown.aborted)
        resolve();
      else
        opts.shutdown.addEventListener("abort", () => resolve(), { once: true });
    });
    clearInterval(statusPoll);
    log.info({ reason: describe(opts.shutdown.reason) }, "drd stopping: waiting for running backups to clean up");
    void systemd?.stopping("stopping: waiting for running backups to clean up");
    await scheduler.stop(describe(opts.shutdown.reason));
  } finally {
    await systemd?.close();
    await metrics?.stop();
    process.off("unhandledRejection", onRejection);
    process.off("SIGHUP", onHangup);
    ctx.catalog.close();
    lock.release();
  }
  log.info("drd stopped");
  return 0;
}
async function reload({ configPath, ctx, scheduler, log, systemd }) {
  void systemd?.reloading();
  try {
    const config = loadConfig(configPath);
    const changes = await scheduler.reload(config);
    log.info({ config: configPath, ...changes }, "config reloaded");
    audit(ctx, { event: "config_reload", outcome: "ok", detail: { config: configPath, ...changes } });
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [describeError(err)];
    log.error({ config: configPath, problems }, "config reload refused: the running config stays");
    audit(ctx, { event: "config_reload", outcome: "refused", detail: { config: configPath, problems } });
  }
  void systemd?.reloaded(scheduler.summary());
}
function describe(reason) {
  return reason instanceof Error ? reason.message : String(reason ?? "stop requested");
}
export {
  daemonCommand
};
