import type { AppContext } from "../../app/context.js";
import { restore, type RestoreRequest } from "../../app/restore/restore.js";
import { UsageError } from "../../errors.js";
import { parseInstant } from "../../policy/instant.js";
import type { Output } from "../io.js";
import { restoreProgress } from "../progress.js";
import { json, phasesInSeconds } from "../render.js";

export interface RestoreFlags {
  backup?: string;
  at?: string;
  timeline?: string;
  from?: string;
  toDb?: string;
  toDir?: string;
  path?: string[];
  stripPrefix?: string;
  fullPaths?: boolean;
  database?: string;
  key?: string;
  passphraseFile?: string;
  clean?: boolean;
  withGlobals?: boolean;
  noOwner?: boolean;
  noPrivileges?: boolean;
  numericOwner?: boolean;
  jobs?: string;
  dryRun?: boolean;
  allowUnsigned?: boolean;
  allowUntrustedSql?: boolean;
  check?: boolean;
  json?: boolean;
}

export async function restoreCommand(ctx: AppContext, io: Output, job: string, flags: RestoreFlags, signal: AbortSignal): Promise<number> {
  if (ctx.config.jobs[job]?.type === "postgres_cluster") return restoreClusterCommand(ctx, io, job, flags, signal);
  if (flags.check) throw new UsageError("--check is for postgres_cluster jobs (a drill checks the others)");
  if (flags.timeline !== undefined) throw new UsageError("--timeline is for postgres_cluster jobs");
  if (flags.backup && flags.at) throw new UsageError("give --backup or --at, not both");
  const instant = flags.at === undefined ? undefined : parseInstant(flags.at, ctx.config.timezone);
  if (flags.at !== undefined && !instant) throw new UsageError(`--at: cannot read the time ${JSON.stringify(flags.at)} (e.g. 2026-11-23T10:00:00Z, or 2026-11-23 10:00 in the config's timezone)`);
  const at = instant?.at;
  // Said on stderr whatever the output: the operator sees which instant a zone-less time became.
  if (instant?.inZone) io.err(`drctl: --at ${flags.at} read in ${ctx.config.timezone} (the config's timezone) as ${new Date(instant.at).toISOString()}`);
  const request: RestoreRequest = { job };
  const set = <K extends keyof RestoreRequest>(k: K, v: RestoreRequest[K] | undefined) => {
    if (v !== undefined) request[k] = v;
  };
  set("backupId", flags.backup);
  set("at", at);
  set("from", flags.from);
  set("toDb", flags.toDb);
  set("toDir", flags.toDir);
  set("paths", flags.path);
  set("stripPrefix", flags.stripPrefix);
  set("fullPaths", flags.fullPaths);
  set("database", flags.database);
  set("keyFile", flags.key);
  set("passphraseFile", flags.passphraseFile);
  set("clean", flags.clean);
  set("withGlobals", flags.withGlobals);
  set("noOwner", flags.noOwner);
  set("noPrivileges", flags.noPrivileges);
  set("numericOwner", flags.numericOwner);
  set("jobs", flags.jobs === undefined ? undefined : /^\d+$/.test(flags.jobs) ? Number(flags.jobs) : NaN);
  set("dryRun", flags.dryRun);
  set("allowUnsigned", flags.allowUnsigned);
  set("allowUntrustedSql", flags.allowUntrustedSql);
  // Progress goes to stderr; --json keeps stdout for the result alone.
  const progress = flags.dryRun ? undefined : restoreProgress(io);
  if (progress) request.onProgress = progress.onProgress;
  let outcome;
  try {
    outcome = await restore(ctx, request, signal);
  } finally {
    progress?.stop();
  }
  for (const w of outcome.warnings) if (!progress?.warned.has(w)) io.err(`drctl: warning: ${w}`);
  if (flags.json) {
    io.out(json(phasesInSeconds(outcome)));
    return 0;
  }
  const d = outcome.destination;
  const to =
    "database" in d
      ? `database ${d.database}${d.jobs > 1 ? ` (${d.jobs} sessions)` : ""}`
      : `${d.directory}${d.paths ? ` (${d.paths.join(", ")} only)` : ""}${d.strip_prefix !== "/" ? `, without the leading ${d.strip_prefix}` : ""}`;
  if (outcome.dry_run) {
    io.out(`would restore ${outcome.backup_id} (${outcome.snapshot_at}) from ${outcome.from} (${outcome.location}) into ${to}`);
    return 0;
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  io.out(`restored ${outcome.backup_id} (${outcome.snapshot_at}) from ${outcome.from} into ${to}`);
  const decrypt = outcome.phases.decrypt ? `, decrypt ${s(outcome.phases.decrypt)}` : "";
  io.out(`  download ${s(outcome.phases.download)}${decrypt}, restore ${s(outcome.phases.restore)} (overlapping), check ${s(outcome.phases.check)}; ${outcome.checked}`);
  return 0;
}

/** A cluster job: a new data directory replayed to --at (a time, an LSN, a restore point, or latest) along --timeline (default: the latest). */
async function restoreClusterCommand(ctx: AppContext, io: Output, job: string, flags: RestoreFlags, signal: AbortSignal): Promise<number> {
  const { parseRecoveryTarget, parseTimeline, restoreCluster } = await import("../../app/restore/cluster.js");
  for (const [flag, given] of [["--to-db", flags.toDb], ["--backup", flags.backup], ["--path", flags.path], ["--jobs", flags.jobs], ["--dry-run", flags.dryRun]] as const)
    if (given !== undefined && given !== false) throw new UsageError(`${flag} is not for postgres_cluster jobs: a cluster is restored whole, to a point in time (--at, --to-dir)`);
  if (!flags.toDir) throw new UsageError("give --to-dir DIR: a new or empty directory for the restored cluster's data");
  const timeline = parseTimeline(flags.timeline);
  const outcome = await restoreCluster(ctx, {
    job,
    target: parseRecoveryTarget(flags.at),
    ...(timeline !== undefined ? { timeline } : {}),
    toDir: flags.toDir,
    ...(flags.from ? { from: flags.from } : {}),
    ...(flags.key ? { keyFile: flags.key } : {}),
    ...(flags.passphraseFile ? { passphraseFile: flags.passphraseFile } : {}),
    ...(flags.check ? { check: true } : {}),
    signal,
  });
  if (flags.json) io.out(json(outcome));
  else {
    const along = outcome.timelines.length > 1 ? `timelines ${outcome.timelines.join(" > ")}` : `timeline ${outcome.timelines[0]}`;
    io.out(`restored ${job} into ${outcome.to_dir}: base backup ${outcome.backup_id} from ${outcome.from}, ${outcome.wal.count} WAL file(s) ${outcome.wal.first}..${outcome.wal.last}, replaying along ${along} to ${outcome.target}`);
    if (outcome.checked) io.out(`checked: the restored cluster started and accepted connections in ${outcome.checked.seconds.toFixed(1)} s; recovery reached ${outcome.checked.reached ?? "(the server did not say)"}`);
    else io.out(`start it as the data directory's owner (pg_ctl -D ${outcome.to_dir} start): it replays, then promotes`);
  }
  return 0;
}
