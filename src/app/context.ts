import { Catalog } from "../catalog/catalog.js";
import type { Config, JobConfig } from "../config/schema.js";
import { parseDuration } from "../config/duration.js";
import type { ClockView } from "../policy/clock.js";
import { UsageError } from "../errors.js";
import { refusal } from "../policy/role.js";
import { TargetRegistry } from "../targets/factory.js";

/** What every use case works with. The CLI and the daemon build one and pass it in. */
export interface AppContext {
  config: Config;
  catalog: Catalog;
  targets: TargetRegistry;
  now: () => number;
}

export function contextFor(config: Config): AppContext {
  return { config, catalog: Catalog.open(config.state_dir), targets: new TargetRegistry(config), now: clock() };
}

/**
 * The wall clock, shifted by DRD_TEST_CLOCK_OFFSET (a duration like 365d or -1d) for tests
 * that play a clock stepped forward or back; unset, it is the plain wall clock.
 */
function clock(): () => number {
  const offset = process.env.DRD_TEST_CLOCK_OFFSET;
  const seconds = offset ? parseDuration(offset.replace(/^-/, "")) : undefined;
  if (seconds === undefined) return () => Date.now();
  const ms = (offset!.startsWith("-") ? -1 : 1) * seconds * 1000;
  return () => Date.now() + ms;
}

/** The clock and the allowance within which a recorded time may lie ahead of it (policy/clock.ts). */
export function clockOf(ctx: AppContext): ClockView {
  return { now: ctx.now(), allowanceMs: ctx.config.clock_skew_allowance * 1000 };
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
/** Refuses (exit 2) what this host's role does not do: a drill host never writes or deletes backups. */
export function assertRoleAllows(ctx: AppContext, command: "backup" | "prune" | "replicate"): void {
  const why = refusal(ctx.config.role, command);
  if (why) throw new UsageError(why);
}

export function assertTarget(ctx: AppContext, name: string): void {
  if (!(name in ctx.config.targets)) throw new UsageError(`unknown target "${name}" (targets: ${Object.keys(ctx.config.targets).join(", ")})`);
}
