import { audit } from "../../app/audit.js";
import { contextFor, type AppContext } from "../../app/context.js";
import { assertStateDirOwner } from "../../app/state-owner.js";
import { loadConfig } from "../../config/load.js";
import { actingAsDaemon } from "../../audit/trail.js";
import { DaemonLock } from "../../daemon/lock.js";
import { createLogger, type Logger } from "../../daemon/logger.js";
import { MetricsServer } from "../../daemon/metrics-server.js";
import { Scheduler } from "../../daemon/scheduler.js";
import { SystemdNotifier } from "../../daemon/systemd.js";
import { ConfigError, describeError, UsageError } from "../../errors.js";

/** How often the status systemd shows is brought up to date (sent only when it changed). */
const STATUS_POLL_MS = 5_000;

/** `drctl daemon`: runs until SIGTERM/SIGINT (the first stops gracefully, a second at once). */
export async function daemonCommand(configPath: string, opts: { allowRoot?: boolean; shutdown: AbortSignal }): Promise<number> {
  if (process.getuid?.() === 0 && !opts.allowRoot)
    throw new UsageError("refusing to run as root: run drd as its own unprivileged user (see systemd/drd.service), or pass --allow-root");
  const log = createLogger();
  const config = loadConfig(configPath);
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
  const scheduler = new Scheduler(ctx, log);
  const systemd = SystemdNotifier.fromEnv(process.env, log);
  // SIGHUP (systemctl reload drd) re-reads the config; one that does not validate changes nothing.
  const onHangup = () => void reload({ configPath, ctx, scheduler, log, systemd });
  process.on("unhandledRejection", onRejection);
  process.on("SIGHUP", onHangup);
  actingAsDaemon();
  const metrics = ctx.config.metrics ? new MetricsServer(ctx) : undefined;
  try {
    log.info({ config: configPath, jobs: Object.keys(ctx.config.jobs), pid: process.pid }, "drd starting");
    if (metrics) log.info({ listen: await metrics.start(ctx.config.metrics!.listen) }, "metrics served at /metrics");
    await scheduler.start();
    // Ready once the metrics page answers and every job is scheduled (catch-up runs may still go on).
    await systemd?.ready(scheduler.summary());
    const statusPoll = systemd ? setInterval(() => void systemd.status(scheduler.summary()), STATUS_POLL_MS) : undefined;
    await new Promise<void>((resolve) => {
      if (opts.shutdown.aborted) resolve();
      else opts.shutdown.addEventListener("abort", () => resolve(), { once: true });
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

async function reload({ configPath, ctx, scheduler, log, systemd }: { configPath: string; ctx: AppContext; scheduler: Scheduler; log: Logger; systemd?: SystemdNotifier }): Promise<void> {
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

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? "stop requested");
}
