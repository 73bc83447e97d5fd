import { openContext } from "../../app/context.js";
import { createLogger } from "../../daemon/logger.js";
import { Scheduler } from "../../daemon/scheduler.js";
import { UsageError } from "../../errors.js";

/** `drctl daemon`: runs until SIGTERM/SIGINT (the first stops gracefully, a second at once). */
export async function daemonCommand(configPath: string, opts: { allowRoot?: boolean; shutdown: AbortSignal }): Promise<number> {
  if (process.getuid?.() === 0 && !opts.allowRoot)
    throw new UsageError("refusing to run as root: run drd as its own unprivileged user (see systemd/drd.service), or pass --allow-root");
  const log = createLogger();
  const ctx = openContext(configPath);
  const scheduler = new Scheduler(ctx, log);
  log.info({ config: configPath, jobs: Object.keys(ctx.config.jobs), pid: process.pid }, "drd starting");
  await scheduler.start();
  await new Promise<void>((resolve) => {
    if (opts.shutdown.aborted) resolve();
    else opts.shutdown.addEventListener("abort", () => resolve(), { once: true });
  });
  log.info({ reason: describe(opts.shutdown.reason) }, "drd stopping: waiting for running backups to clean up");
  await scheduler.stop(describe(opts.shutdown.reason));
  ctx.catalog.close();
  log.info("drd stopped");
  return 0;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? "stop requested");
}
