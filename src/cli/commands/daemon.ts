import { audit } from "../../app/audit.js";
import { contextFor } from "../../app/context.js";
import { assertStateDirOwner } from "../../app/state-owner.js";
import { loadConfig } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import { dutiesOf } from "../../policy/role.js";
import { actingAsDaemon } from "../../audit/trail.js";
import { DaemonLock } from "../../daemon/lock.js";
import { createLogger, type Logger } from "../../daemon/logger.js";
import { MetricsServer } from "../../daemon/metrics-server.js";
import { AlertWorker } from "../../daemon/alert-worker.js";
import { Runtime } from "../../daemon/runtime.js";
import { Scheduler } from "../../daemon/scheduler.js";
import { ObjectiveWatch } from "../../daemon/watch.js";
import { WalStreams } from "../../daemon/wal-streams.js";
import { SystemdNotifier } from "../../daemon/systemd.js";
import { ConfigError, describeError, UsageError } from "../../errors.js";
import { BUILD, VERSION } from "../../version.js";

/** How often the status systemd shows is brought up to date (sent only when it changed). */
const STATUS_POLL_MS = 5_000;
/**
 * How long a stop may take: below the unit's TimeoutStopSec, so drd, not SIGKILL, decides
 * what is left. Work still running then is abandoned and recorded interrupted at the next start.
 */
const STOP_DEADLINE_MS = 25_000;

/**
 * The config as this daemon runs it: `--drills-only` makes it a drill host whatever the file
 * says, so the server's config file can be copied to the drill host unchanged.
 */
function daemonConfig(configPath: string, drillsOnly: boolean): Config {
  const config = loadConfig(configPath);
  return drillsOnly ? { ...config, role: "drills" } : config;
}

/** `drctl daemon`: runs until SIGTERM/SIGINT (the first stops gracefully, a second at once). */
export async function daemonCommand(configPath: string, opts: { allowRoot?: boolean; drillsOnly?: boolean; shutdown: AbortSignal }): Promise<number> {
  if (process.getuid?.() === 0 && !opts.allowRoot)
    throw new UsageError("refusing to run as root: run drd as its own unprivileged user (see systemd/drd.service), or pass --allow-root");
  const log = createLogger();
  const load = () => daemonConfig(configPath, opts.drillsOnly === true);
  const config = load();
  assertStateDirOwner(config.state_dir, opts.allowRoot === true);
  const ctx = contextFor(config);
  let lock: DaemonLock;
  try {
    lock = DaemonLock.acquire(ctx.config.state_dir);
  } catch (err) {
    ctx.catalog.close();
    throw err;
  }
  // A safety net: work is tracked and its failures logged, but nothing unforeseen may end the daemon.
  const onRejection = (err: unknown) => log.error({ error: describeError(err) }, "unhandled failure (the daemon goes on)");
  const runtime = new Runtime(ctx);
  const alerts = new AlertWorker(runtime, log);
  const watch = new ObjectiveWatch(runtime, log, alerts);
  const scheduler = new Scheduler(runtime, log, () => watch.kick());
  const duties = dutiesOf(ctx.config.role);
  // Not even built on a drill host: it must never create a slot or open the archive socket (the role cannot change on reload).
  const wal = duties.wal ? new WalStreams(runtime, log, (job) => scheduler.backupNow(job, "wal_slot_lost")) : undefined;
  const systemd = SystemdNotifier.fromEnv(process.env, log);
  // SIGHUP (systemctl reload drd) re-reads the config; one that does not validate changes nothing.
  const onHangup = () => reload({ configPath, load, runtime, log, systemd, summary: () => scheduler.summary() });
  process.on("unhandledRejection", onRejection);
  process.on("SIGHUP", onHangup);
  actingAsDaemon();
  const metrics = ctx.config.metrics ? new MetricsServer(() => runtime.ctx) : undefined;
  let abandoned: string[] = [];
  try {
    log.info({ config: configPath, role: ctx.config.role, jobs: Object.keys(ctx.config.jobs), pid: process.pid, version: VERSION, build: BUILD }, "drd starting");
    if (!duties.backups) log.info({ role: ctx.config.role }, "drill host: drills only; no backups, WAL streams, prunes or copies");
    if (metrics) log.info({ listen: await metrics.start(ctx.config.metrics!.listen) }, "metrics served at /metrics");
    await scheduler.start();
    wal?.start();
    alerts.start();
    watch.start();
    // Ready once the metrics page answers and every job is scheduled (catch-up runs may still go on).
    await systemd?.ready(scheduler.summary());
    const statusPoll = systemd ? setInterval(() => void systemd.status(scheduler.summary()), STATUS_POLL_MS) : undefined;
    await new Promise<void>((resolve) => {
      if (opts.shutdown.aborted) resolve();
      else opts.shutdown.addEventListener("abort", () => resolve(), { once: true });
    });
    clearInterval(statusPoll);
    const reason = describe(opts.shutdown.reason);
    log.info({ reason }, "drd stopping: waiting for running work to clean up");
    void systemd?.stopping("stopping: waiting for running work to clean up");
    // Aborts every backup, drill, copy and delivery in progress; no reload is applied from here on.
    runtime.stop(new Error(reason));
    watch.stop();
    const stopped = Promise.all([scheduler.stop(), alerts.stop(), wal?.stop()]).then(() => true);
    let deadline: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), STOP_DEADLINE_MS)));
    if (!(await Promise.race([stopped, late]))) abandoned = scheduler.runningNow();
    clearTimeout(deadline);
  } finally {
    await systemd?.close();
    await metrics?.stop();
    process.off("unhandledRejection", onRejection);
    process.off("SIGHUP", onHangup);
    if (abandoned.length === 0) ctx.catalog.close();
    lock.release();
  }
  if (abandoned.length > 0) {
    // Whatever still runs cannot finish cleanly now; the next start records it interrupted and removes what it wrote.
    log.error({ abandoned, deadline_seconds: STOP_DEADLINE_MS / 1000 }, "drd stopped with work still running: it is recorded interrupted at the next start");
    process.exit(1);
  }
  log.info("drd stopped");
  return 0;
}

function reload({ configPath, load, runtime, log, systemd, summary }: { configPath: string; load: () => Config; runtime: Runtime; log: Logger; systemd?: SystemdNotifier; summary: () => string }): void {
  if (runtime.stopping.aborted) {
    log.warn({ config: configPath }, "config reload ignored: drd is stopping");
    return;
  }
  void systemd?.reloading();
  try {
    const changes = runtime.reload(load());
    log.info({ config: configPath, ...changes }, "config reloaded");
    audit(runtime.ctx, { event: "config_reload", outcome: "ok", detail: { config: configPath, ...changes } });
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [describeError(err)];
    log.error({ config: configPath, problems }, "config reload refused: the running config stays");
    audit(runtime.ctx, { event: "config_reload", outcome: "refused", detail: { config: configPath, problems } });
  }
  void systemd?.reloaded(summary());
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? "stop requested");
}
