import { contextFor } from "../../app/context.js";
import { assertStateDirOwner } from "../../app/state-owner.js";
import { loadConfig } from "../../config/load.js";
import { actingAsDaemon } from "../../audit/trail.js";
import { DaemonLock } from "../../daemon/lock.js";
import { createLogger } from "../../daemon/logger.js";
import { MetricsServer } from "../../daemon/metrics-server.js";
import { Scheduler } from "../../daemon/scheduler.js";
import { describeError, UsageError } from "../../errors.js";

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
  // Node's default for SIGHUP ends the process; reloading is not done yet, so it is only logged.
  const onHangup = () => log.warn("SIGHUP received: the config is not reloaded; restart drd to apply a changed config");
  process.on("unhandledRejection", onRejection);
  process.on("SIGHUP", onHangup);
  actingAsDaemon();
  const scheduler = new Scheduler(ctx, log);
  const metrics = ctx.config.metrics ? new MetricsServer(ctx) : undefined;
  try {
    log.info({ config: configPath, jobs: Object.keys(ctx.config.jobs), pid: process.pid }, "drd starting");
    if (metrics) log.info({ listen: await metrics.start(ctx.config.metrics!.listen) }, "metrics served at /metrics");
    await scheduler.start();
    await new Promise<void>((resolve) => {
      if (opts.shutdown.aborted) resolve();
      else opts.shutdown.addEventListener("abort", () => resolve(), { once: true });
    });
    log.info({ reason: describe(opts.shutdown.reason) }, "drd stopping: waiting for running backups to clean up");
    await scheduler.stop(describe(opts.shutdown.reason));
  } finally {
    await metrics?.stop();
    process.off("unhandledRejection", onRejection);
    process.off("SIGHUP", onHangup);
    ctx.catalog.close();
    lock.release();
  }
  log.info("drd stopped");
  return 0;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? "stop requested");
}
