import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { commandEnv } from "../child-env.js";
import type { ClusterJobConfig, JobConfig } from "../config/schema.js";
import { describeError, IntegrityError, OperationError } from "../errors.js";
import { PgConnection } from "../sources/pg-connection.js";
import { findCertificates, type CertificateInfo } from "./certificates.js";
import { checkCopy } from "./check-copy.js";
import { assertTarget, jobOf, type AppContext } from "./context.js";
import { listBackups } from "./list.js";
import { BOOT_ID, isClaimAlive } from "./process.js";
import { dropDatabase } from "./restore/postgres.js";
import { restore, type RestoreRequest } from "./restore/restore.js";
import { restoreCluster, stopCluster } from "./restore/cluster.js";
import { chooseTrusted } from "./restore/select.js";
import { copyVersions, parseManifest } from "../catalog/catalog.js";
import { alertMessage } from "../alerts/message.js";
import { notify } from "./notify.js";
import { audit } from "./audit.js";

export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
}

export interface DrillOutcome {
  id: number;
  job: string;
  backup_id: string | null;
  from: string;
  ok: boolean;
  /** False when the drill could only check integrity (an encrypted backup and no key here). */
  rto_proven: boolean;
  started_at: string;
  duration_seconds: number;
  phases: { download: number; decrypt: number; restore: number; checks: number };
  checks: CheckResult[];
  certificates: CertificateInfo[];
  warnings: string[];
  error: string | null;
  /** integrity: the data did not check out (exit 3); operation: the drill could not run (exit 1). */
  failure: "integrity" | "operation" | null;
}

const CERT_WARNING_DAYS = 30;

/**
 * A restore drill: the newest backup that meets the policy, restored from the drill's
 * target into a scratch database or directory, checked against its manifest and the
 * job's drill checks, then removed (also when the drill fails or is interrupted). The
 * total duration is the measured RTO.
 */
export async function runDrill(ctx: AppContext, jobName: string, options: { target?: string; signal: AbortSignal; onProgress?: RestoreRequest["onProgress"] }): Promise<DrillOutcome> {
  const job = jobOf(ctx, jobName);
  if (options.target !== undefined) assertTarget(ctx, options.target);
  const from = options.target ?? job.drill?.from ?? job.targets.find((t) => ctx.config.targets[t]?.offsite) ?? job.targets[0]!;
  await removeAbandonedScratch(ctx, jobName, job);
  const startedAt = ctx.now();
  const id = ctx.catalog.startDrill(jobName, startedAt, process.pid, BOOT_ID);
  const outcome: DrillOutcome = {
    id,
    job: jobName,
    backup_id: null,
    from,
    ok: false,
    rto_proven: false,
    started_at: new Date(startedAt).toISOString(),
    duration_seconds: 0,
    phases: { download: 0, decrypt: 0, restore: 0, checks: 0 },
    checks: [],
    certificates: [],
    warnings: [],
    error: null,
    failure: null,
  };
  try {
    const encrypted = latestManifest(ctx, jobName)?.encryption;
    const hasSecret = Boolean(job.drill?.key_file || job.drill?.passphrase_file);
    if (encrypted && !hasSecret) await integrityOnly(ctx, jobName, from, outcome);
    else if (job.type === "postgres_cluster") await drillCluster(ctx, jobName, job, from, outcome, options.signal);
    else await restoreAndCheck(ctx, { jobName, job, from, outcome, signal: options.signal, onProgress: options.onProgress });
  } catch (err) {
    outcome.ok = false;
    outcome.error = describeError(err);
    outcome.failure = err instanceof IntegrityError ? "integrity" : "operation";
  } finally {
    outcome.duration_seconds = (ctx.now() - startedAt) / 1000;
    ctx.catalog.finishDrill(id, {
      backup_id: outcome.backup_id,
      target: from,
      finished_at: ctx.now(),
      ok: outcome.ok ? 1 : 0,
      phases: JSON.stringify({ ...outcome.phases, rto_proven: outcome.rto_proven }),
      details: JSON.stringify({ checks: outcome.checks, certificates: outcome.certificates, warnings: outcome.warnings }),
      error: outcome.error,
    });
    ctx.catalog.addEvent({ at: ctx.now(), kind: outcome.ok ? "drill_ok" : "drill_failed", job: jobName, ...(outcome.backup_id ? { backup_id: outcome.backup_id } : {}), target: from, detail: outcome.error ?? undefined });
    audit(ctx, { event: "drill", outcome: outcome.ok ? "ok" : "failed", job: jobName, backup_id: outcome.backup_id, target: from, detail: { drill_id: id, seconds: outcome.duration_seconds, ...(outcome.error ? { error: outcome.error } : {}) } });
    if (!outcome.ok && !options.signal.aborted)
      notify(ctx, alertMessage("drill_failed", jobName, `drill of ${jobName} (${outcome.backup_id ? `backup ${outcome.backup_id}` : "no backup chosen"}, from ${from}) failed: ${outcome.error}`, { drill_id: id, backup_id: outcome.backup_id, from, failure: outcome.failure, error: outcome.error }, ctx.now()));
  }
  return outcome;
}

function scratchDatabaseName(job: string, drillId: number): string {
  return `drd_drill_${job}_${drillId}`.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 63);
}

/**
 * A drill whose process died (kill -9, power loss) could not drop its scratch database or
 * directory: the next drill of the job does, and records the dead one as interrupted.
 */
async function removeAbandonedScratch(ctx: AppContext, jobName: string, job: JobConfig): Promise<void> {
  for (const drill of ctx.catalog.unfinishedDrills(jobName)) {
    if (isClaimAlive(drill)) continue;
    if (job.type === "postgres") {
      const conn = await PgConnection.open(job.drill?.connection ?? job.connection, job.password_file);
      await dropDatabase({ conn, name: scratchDatabaseName(jobName, drill.id), created: true }).catch(() => undefined);
      await conn.close();
    }
    for (const entry of await readdir(ctx.config.state_dir).catch(() => [] as string[])) {
      if (entry.startsWith(`drill-${jobName}-${drill.id}-`)) await rm(join(ctx.config.state_dir, entry), { recursive: true, force: true });
    }
    for (const entry of await readdir(tmpdir()).catch(() => [] as string[])) {
      if (!entry.startsWith(clusterScratchPrefix(jobName, drill.id))) continue;
      // A scratch cluster the dead drill started may still run: stopped before it is removed.
      await stopCluster(join(tmpdir(), entry, "data"));
      await rm(join(tmpdir(), entry), { recursive: true, force: true });
    }
    ctx.catalog.finishDrill(drill.id, {
      backup_id: drill.backup_id, target: drill.target, finished_at: ctx.now(), ok: 0, phases: null, details: null,
      error: "the drill's process ended before it finished (killed or crashed); its scratch was removed by a later drill",
    });
  }
}

/** What a drill takes: the newest backup as a restore would, never one no trusted key signed. */
function drillChoice(ctx: AppContext, job: string) {
  return chooseTrusted(listBackups(ctx, job), {}, false, "in the catalog");
}

function latestManifest(ctx: AppContext, job: string) {
  const choice = drillChoice(ctx, job);
  return "refused" in choice ? undefined : parseManifest(ctx.catalog.getBackup(choice.picked.id)!);
}

async function integrityOnly(ctx: AppContext, job: string, from: string, outcome: DrillOutcome): Promise<void> {
  const choice = drillChoice(ctx, job);
  if ("refused" in choice) throw choice.untrusted ? new IntegrityError(choice.refused) : new OperationError(`nothing to drill: ${choice.refused}`);
  const picked = choice.picked;
  outcome.backup_id = picked.id;
  const t = ctx.now();
  const backup = ctx.catalog.getBackup(picked.id)!;
  const check = await checkCopy(ctx.targets.get(from), parseManifest(backup), { sha256: backup.sha256, signature: backup.signature, versions: copyVersions(backup.copies.find((c) => c.target === from)) });
  outcome.phases.download = ctx.now() - t;
  outcome.checks.push({ check: "sha256 of every object", ok: check.ok, detail: check.ok ? "match" : check.problem });
  outcome.warnings.push("encrypted backup and no drill key_file or passphrase_file: integrity checked, restore (RTO) not proven");
  outcome.ok = check.ok;
  if (!check.ok) {
    outcome.error = check.problem;
    outcome.failure = "integrity";
  }
}

interface DrillRun {
  jobName: string;
  job: JobConfig;
  from: string;
  outcome: DrillOutcome;
  signal: AbortSignal;
  onProgress: RestoreRequest["onProgress"];
}

async function restoreAndCheck(ctx: AppContext, { jobName, job, from, outcome, signal, onProgress }: DrillRun): Promise<void> {
  const scratchDb = scratchDatabaseName(jobName, outcome.id);
  const scratchDir = job.type === "files" ? await mkdtemp(join(ctx.config.state_dir, `drill-${jobName}-${outcome.id}-`)) : undefined;
  const connection = job.type === "postgres" ? (job.drill?.connection ?? job.connection) : undefined;
  try {
    const restored = await restore(
      ctx,
      {
        job: jobName,
        from,
        noOwner: true,
        ...(job.type === "postgres" ? { toDb: scratchDb, connection: connection!, ...(job.drill?.jobs ? { jobs: job.drill.jobs } : {}) } : { toDir: scratchDir!, fullPaths: true }),
        ...(job.drill?.key_file ? { keyFile: job.drill.key_file, passphraseFlag: "drill.key_passphrase_file" } : {}),
        ...(job.drill?.passphrase_file ? { passphraseFile: job.drill.passphrase_file } : {}),
        ...(job.drill?.key_passphrase_file ? { passphraseFile: job.drill.key_passphrase_file } : {}),
        ...(onProgress ? { onProgress } : {}),
      },
      signal,
    );
    outcome.backup_id = restored.backup_id;
    outcome.phases.download = restored.phases.download;
    outcome.phases.decrypt = restored.phases.decrypt;
    outcome.phases.restore = restored.phases.restore;
    outcome.checks.push({ check: "manifest", ok: true, detail: restored.checked });
    const t = ctx.now();
    for (const check of job.drill?.checks ?? []) {
      signal.throwIfAborted();
      outcome.checks.push("sql" in check ? await sqlCheck(job, connection!, scratchDb, check.sql, signal) : await commandCheck(check.command, scratchDir, job, connection, scratchDb, signal));
    }
    if (scratchDir) {
      outcome.certificates = await findCertificates(scratchDir, ctx.now());
      for (const c of outcome.certificates.filter((c) => c.days_left < CERT_WARNING_DAYS)) {
        outcome.warnings.push(`certificate ${c.path} (${c.subject}) ${c.days_left < 0 ? "expired" : "expires"} ${c.not_after}`);
      }
    }
    outcome.phases.checks = restored.phases.check + (ctx.now() - t);
    judge(outcome);
  } finally {
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
    if (job.type === "postgres") {
      const conn = await PgConnection.open(connection!, job.password_file);
      await dropDatabase({ conn, name: scratchDb, created: true }).catch(() => undefined);
      await conn.close();
    }
  }
}

function clusterScratchPrefix(job: string, drillId: number): string {
  return `drd-drill-${job.replace(/[^A-Za-z0-9_-]/g, "_")}-${drillId}-`;
}

/**
 * A drill of a cluster job: its newest base backup and the WAL after it, from the drill's
 * target, restored to the newest moment into a scratch data directory and started on a
 * scratch port until recovery ended; the job's checks run against it (SQL in the database the
 * job connects to, as the cluster's superuser; commands with DRD_DRILL_DATABASE_URL); then
 * it is stopped and removed. The whole duration is the measured RTO.
 */
async function drillCluster(ctx: AppContext, jobName: string, job: ClusterJobConfig, from: string, outcome: DrillOutcome, signal: AbortSignal): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), clusterScratchPrefix(jobName, outcome.id)));
  // PostgreSQL runs as the data directory's owner (as root: the backup's), who must reach it.
  if (process.getuid?.() === 0) await chmod(scratch, 0o711);
  const dataDir = join(scratch, "data");
  const database = decodeURIComponent(new URL(job.connection).pathname.slice(1)) || "postgres";
  const began = ctx.now();
  try {
    const restored = await restoreCluster(ctx, {
      job: jobName,
      target: { kind: "latest" },
      toDir: dataDir,
      from,
      ...(job.drill?.key_file ? { keyFile: job.drill.key_file } : {}),
      ...((job.drill?.key_passphrase_file ?? job.drill?.passphrase_file) ? { passphraseFile: (job.drill?.key_passphrase_file ?? job.drill?.passphrase_file)! } : {}),
      signal,
      whileRunning: async (server) => {
        outcome.phases.restore = ctx.now() - began;
        const t = ctx.now();
        for (const check of job.drill?.checks ?? []) {
          signal.throwIfAborted();
          if ("sql" in check) {
            const r = await server.query(database, check.sql);
            outcome.checks.push({ check: check.sql, ok: r.ok && r.value === "t", detail: r.ok ? `returned ${JSON.stringify(r.value === "t" ? true : r.value === "f" ? false : r.value)}` : r.error });
          } else outcome.checks.push(await commandCheck(check.command, undefined, job, undefined, database, signal, { DRD_DRILL_DATABASE_URL: server.url(database), DRD_DRILL_DATA_DIR: dataDir }));
        }
        outcome.phases.checks = ctx.now() - t;
      },
    });
    outcome.backup_id = restored.backup_id;
    outcome.checks.unshift({
      check: "recovery",
      ok: true,
      detail: `base backup ${restored.backup_id} and ${restored.wal.count} WAL file(s) through ${restored.wal.last}, checked against their signed records; the cluster started and ended recovery${restored.checked?.reached ? ` at ${restored.checked.reached}` : ""}`,
    });
    judge(outcome);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A drill passes when every check did; then its duration is a measured RTO. */
function judge(outcome: DrillOutcome): void {
  const failed = outcome.checks.filter((c) => !c.ok);
  outcome.rto_proven = failed.length === 0;
  outcome.ok = failed.length === 0;
  if (failed.length > 0) {
    outcome.error = `drill check failed: ${failed.map((c) => `${c.check}: ${c.detail}`).join("; ")}`;
    outcome.failure = "integrity";
  }
}

/** A drill check stopped by shutdown: the drill fails as interrupted, not as a failed check. */
function interrupted(signal: AbortSignal): OperationError {
  return new OperationError(`interrupted: ${describeError(signal.reason)}`);
}

async function sqlCheck(job: JobConfig, connection: string, db: string, sql: string, signal: AbortSignal): Promise<CheckResult> {
  const conn = await PgConnection.open(connection, job.type === "postgres" ? job.password_file : undefined);
  try {
    const client = await conn.client(db);
    // Ending the session cancels the query on the server: shutdown never waits for a slow check.
    const stop = () => void client.end().catch(() => undefined);
    signal.addEventListener("abort", stop, { once: true });
    try {
      const res = await client.query({ text: sql, rowMode: "array" });
      const value = res.rows[0]?.[0];
      return { check: sql, ok: value === true, detail: `returned ${JSON.stringify(value ?? null)}` };
    } catch (err) {
      if (signal.aborted) throw interrupted(signal);
      return { check: sql, ok: false, detail: describeError(err) };
    } finally {
      signal.removeEventListener("abort", stop);
      await client.end().catch(() => undefined);
    }
  } finally {
    await conn.close();
  }
}

async function commandCheck(command: string[], dir: string | undefined, job: JobConfig, connection: string | undefined, db: string, signal: AbortSignal, extraEnv: Record<string, string> = {}): Promise<CheckResult> {
  const env: Record<string, string> = { ...(dir ? { DRD_DRILL_DIR: dir } : {}), ...extraEnv };
  if (job.type === "postgres" && connection) {
    // The scratch database's URL and, with password_file, its password: what the check needs to connect, nothing of drd's own.
    const conn = await PgConnection.open(connection, job.password_file);
    env.DRD_DRILL_DATABASE_URL = conn.urlFor(db);
    const { PGPASSWORD } = conn.toolEnv();
    if (PGPASSWORD !== undefined) env.PGPASSWORD = PGPASSWORD;
    await conn.close();
  }
  const result = await execa(command[0]!, command.slice(1), { cwd: dir, env: commandEnv(env), extendEnv: false, reject: false, timeout: 600_000, stdin: "ignore", cancelSignal: signal, forceKillAfterDelay: 2_000 });
  if (signal.aborted) throw interrupted(signal);
  const tail = `${result.stderr ?? ""}`.trim().slice(-300);
  return { check: command.join(" "), ok: result.exitCode === 0, detail: result.exitCode === 0 ? "exit 0" : `exit ${result.exitCode ?? result.signal}${tail ? `: ${tail}` : ""}` };
}

export function drillFailure(outcome: DrillOutcome): IntegrityError | OperationError | undefined {
  if (outcome.ok) return undefined;
  const message = `drill of ${outcome.job} failed: ${outcome.error}`;
  return outcome.failure === "integrity" ? new IntegrityError(message) : new OperationError(message);
}
