import { Catalog } from "../catalog/catalog.js";
import type { Config, JobConfig } from "../config/schema.js";
import { UsageError } from "../errors.js";
import { TargetRegistry } from "../targets/factory.js";

/** What every use case works with. The CLI and the daemon build one and pass it in. */
export interface AppContext {
  config: Config;
  catalog: Catalog;
  targets: TargetRegistry;
  now: () => number;
}

export function contextFor(config: Config): AppContext {
  return { config, catalog: Catalog.open(config.state_dir), targets: new TargetRegistry(config), now: () => Date.now() };
}

export function jobOf(ctx: AppContext, name: string): JobConfig {
  const job = ctx.config.jobs[name];
  if (!job) {
    const known = Object.keys(ctx.config.jobs).join(", ") || "none";
    throw new UsageError(`unknown job "${name}" (jobs: ${known})`);
  }
  return job;
}

/** A target named on the command line (--from, --target): exit 2 listing the known ones. */
export function assertTarget(ctx: AppContext, name: string): void {
  if (!(name in ctx.config.targets)) throw new UsageError(`unknown target "${name}" (targets: ${Object.keys(ctx.config.targets).join(", ")})`);
}
