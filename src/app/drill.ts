import { createHash } from "node:crypto";
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
import { describeTarget, restoreCluster, stopCluster, type RecoveryTarget, type RunningCluster } from "./restore/cluster.js";
import { readTargetManifests, rebuildCatalog } from "./manifests.js";
import { dutiesOf } from "../policy/role.js";
import type { Manifest, TableCount } from "../manifest.js";
import { chooseMoment, compareCounts, drillRto, drillWindow, pgTime, type FoundCount } from "../policy/drill.js";
import { formatLsn, parseLsn, type Lsn } from "../policy/wal.js";
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
  /** Cluster jobs: each restore the drill made, in order (latest, a random moment of the window, the newest base backup's restore point). */
  restores?: DrillRestore[];
  /** Cluster jobs: the measured RTO, the slowest of the restores (each until its checks ended); other jobs: the whole drill, duration_seconds. */
  rto_seconds?: number;
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
  const from = drillFrom(ctx, job, options.target);
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
    // A drill host took none of the backups: it learns them from the target it drills from,
    // as a restore on a bare machine would (so the RTO it measures includes finding them there).
    if (dutiesOf(ctx.config.role).learnBackupsFromTarget) await rebuildCatalog(ctx, from, { job: jobName });
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
      phases: JSON.stringify({ ...outcome.phases, rto_proven: outcome.rto_proven, ...(outcome.rto_seconds !== undefined ? { rto_ms: Math.round(outcome.rto_seconds * 1000) } : {}) }),
      details: JSON.stringify({ checks: outcome.checks, certificates: outcome.certificates, warnings: outcome.warnings, ...(outcome.restores ? { restores: outcome.restores } : {}) }),
      error: outcome.error,
    });
    ctx.catalog.addEvent({ at: ctx.now(), kind: outcome.ok ? "drill_ok" : "drill_failed", job: jobName, ...(outcome.backup_id ? { backup_id: outcome.backup_id } : {}), target: from, detail: outcome.error ?? undefined });
    audit(ctx, { event: "drill", outcome: outcome.ok ? "ok" : "failed", job: jobName, backup_id: outcome.backup_id, target: from, detail: { drill_id: id, seconds: outcome.duration_seconds, ...(outcome.error ? { error: outcome.error } : {}) } });
    if (!outcome.ok && !options.signal.aborted)
      notify(ctx, alertMessage("drill_failed", jobName, `drill of ${jobName} (${outcome.backup_id ? `backup ${outcome.backup_id}` : "no backup chosen"}, from ${from}) failed: ${outcome.error}`, { drill_id: id, backup_id: outcome.backup_id, from, failure: outcome.failure, error: outcome.error }, ctx.now()));
  }
  return outcome;
}

/** The target a drill reads: the one asked for, else drill.from, else the job's first offsite target, else its first. */
function drillFrom(ctx: AppContext, job: JobConfig, asked?: string): string {
  return asked ?? job.drill?.from ?? job.targets.find((t) => ctx.config.targets[t]?.offsite) ?? job.targets[0]!;
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
      if (!entry.startsWith(clusterScratchPrefix(ctx.config.state_dir, jobName, drill.id))) continue;
      // A scratch cluster the dead drill started may still run (one per restore): stopped before it is removed.
      for (const dir of await readdir(join(tmpdir(), entry)).catch(() => [] as string[])) await stopCluster(join(tmpdir(), entry, dir));
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

/**
 * Where a cluster drill's scratch lives in the shared temporary directory. The state dir's
 * hash keeps two drd instances on one machine (a drill host beside production, say) from
 * taking each other's live scratch for an abandoned one of the same job and drill number.
 */
export function clusterScratchPrefix(stateDir: string, job: string, drillId?: number): string {
  const instance = createHash("sha256").update(stateDir).digest("hex").slice(0, 8);
  return `drd-drill-${instance}-${job.replace(/[^A-Za-z0-9_-]/g, "_")}-${drillId === undefined ? "" : `${drillId}-`}`;
}

/**
 * A drill of a cluster job: restores from the drill's target, one after another into one
 * scratch directory, each started on a socket of its own until recovery ended, checked, then
 * stopped and removed: (1) to the newest moment, where the job's checks run (SQL in the
 * database the job connects to, as the cluster's superuser; commands with
 * DRD_DRILL_DATABASE_URL); (2) to a random moment of the window the target holds (drillWindow);
 * (3) when the newest base backup recorded row counts at its restore point, to that point by
 * its LSN, where every recorded table must have exactly its rows. Each must reach its target.
 * The measured RTO is the slowest of them (drillRto): a recovery may be asked for any moment.
 */
async function drillCluster(ctx: AppContext, jobName: string, job: ClusterJobConfig, from: string, outcome: DrillOutcome, signal: AbortSignal): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), clusterScratchPrefix(ctx.config.state_dir, jobName, outcome.id)));
  // PostgreSQL runs as the data directory's owner (as root: the backup's), who must reach it.
  if (process.getuid?.() === 0) await chmod(scratch, 0o711);
  const database = decodeURIComponent(new URL(job.connection).pathname.slice(1)) || "postgres";
  outcome.restores = [];
  const restoreTo = (kind: DrillRestore["kind"], target: RecoveryTarget, whileRunning: RestoreHooks["whileRunning"], after?: RestoreHooks["after"]) =>
    clusterRestore(ctx, { jobName, job, from, scratch, kind, target, signal, outcome }, { whileRunning, ...(after ? { after } : {}) });
  try {
    let newest: { lsn: Lsn | null; transactionAt: number | null } = { lsn: null, transactionAt: null };
    await restoreTo("latest", { kind: "latest" }, async (server, restore) => {
      newest = await replayed(server, database);
      restore.reached = describeReplayed(newest);
      restore.checks.push({ check: "recovery", ok: true, detail: "" });
      const t = ctx.now();
      for (const check of job.drill?.checks ?? []) {
        signal.throwIfAborted();
        if ("sql" in check) {
          const r = await server.query(database, check.sql);
          restore.checks.push({ check: check.sql, ok: r.ok && r.value === "t", detail: r.ok ? `returned ${JSON.stringify(r.value === "t" ? true : r.value === "f" ? false : r.value)}` : r.error });
        } else restore.checks.push(await commandCheck(check.command, undefined, job, undefined, database, signal, { DRD_DRILL_DATABASE_URL: server.url(database), DRD_DRILL_DATA_DIR: server.dir }));
      }
      outcome.phases.checks = ctx.now() - t;
    });
    const latest = outcome.restores[0]!;
    outcome.backup_id = latest.backup_id;
    outcome.phases.restore = latest.seconds * 1000 - outcome.phases.checks;

    const { records } = await readTargetManifests(ctx, from, jobName);
    const bases = records.filter((r) => r.trust.trusted && r.manifest.kind === "postgres_cluster").map((r) => r.manifest as Extract<Manifest, { kind: "postgres_cluster" }>);
    const window = drillWindow(bases.map((b) => Date.parse(b.finished_at)), newest.transactionAt);
    if ("none" in window) outcome.warnings.push(`no random moment drilled: ${window.none}`);
    else {
      const at = chooseMoment(window, Math.random);
      let got: Awaited<ReturnType<typeof replayed>> = { lsn: null, transactionAt: null };
      await restoreTo(
        "moment",
        { kind: "time", at },
        async (server, restore) => {
          got = await replayed(server, database);
          restore.reached = describeReplayed(got);
        },
        (restore) => {
          // Stopped at the target: before the first transaction that ended after it (the server's log names it), none of those replayed.
          const stoppedAt = pgTime(restore.reached_log ?? "");
          const ok = stoppedAt !== null && stoppedAt >= at && (got.transactionAt === null || got.transactionAt <= at);
          restore.checks.push({ check: "recovery", ok, detail: `stopped before a transaction that ended at ${restore.reached_log ?? "(not logged)"}; the last one replayed ended ${got.transactionAt === null ? "(none)" : new Date(got.transactionAt).toISOString()}` });
        },
      );
    }

    const newestBase = bases.reduce<(typeof bases)[number] | undefined>((a, b) => (a && Date.parse(a.finished_at) >= Date.parse(b.finished_at) ? a : b), undefined);
    const point = newestBase?.cluster.restore_point;
    if (!newestBase) outcome.warnings.push("no restore point drilled: no trusted base backup on the target");
    else if (point?.state !== "counted") outcome.warnings.push(`no restore point drilled: base backup ${newestBase.id} ${point === undefined ? "has no restore point (made by an earlier drd)" : point.state === "none" ? `has none (${point.reason})` : `recorded no row counts at ${point.name} (${point.reason})`}`);
    else if (newest.lsn === null || parseLsn(point.lsn) > newest.lsn) outcome.warnings.push(`no restore point drilled: ${point.name} (LSN ${point.lsn}) is past the archived WAL the drill restored`);
    else {
      const lsn = parseLsn(point.lsn);
      await restoreTo("restore_point", { kind: "lsn", lsn }, async (server, restore) => {
        const got = await replayed(server, point.database);
        restore.reached = describeReplayed(got);
        restore.checks.push({ check: "recovery", ok: got.lsn !== null && got.lsn >= lsn, detail: `the server replayed through ${got.lsn === null ? "(nothing)" : formatLsn(got.lsn)}; the restore point ${point.name} is at ${point.lsn}` });
        restore.checks.push(...(await countRows(server, point.database, `restore point ${point.name}`, point.tables)));
      });
    }
    outcome.rto_seconds = drillRto(outcome.restores.map((r) => r.seconds * 1000))! / 1000;
    judge(outcome);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** One restore of a cluster drill: what it was asked, what it reached, how long it took, what was checked. */
export interface DrillRestore {
  /** latest; a random moment of the window; the newest base backup's restore point (by its LSN). */
  kind: "latest" | "moment" | "restore_point";
  /** latest, the time, or the LSN. */
  target: string;
  backup_id: string | null;
  /** Where the replay ended: the last WAL position and transaction replayed. */
  reached: string | null;
  /** The server's own log line on where it stopped. */
  reached_log: string | null;
  ok: boolean;
  /** From the start of the restore until its checks ended. */
  seconds: number;
  checks: CheckResult[];
  error: string | null;
}

interface ClusterRestoreRun {
  jobName: string;
  job: ClusterJobConfig;
  from: string;
  scratch: string;
  kind: DrillRestore["kind"];
  target: RecoveryTarget;
  signal: AbortSignal;
  outcome: DrillOutcome;
}

interface RestoreHooks {
  /** While the restored cluster runs, recovery ended: its checks. */
  whileRunning: (server: RunningCluster, restore: DrillRestore) => Promise<void>;
  /** Once it stopped, with the server's log line on where it stopped. */
  after?: (restore: DrillRestore) => void;
}

/** One restore into the drill's scratch directory, recorded in outcome.restores, its checks in outcome.checks; removed after. */
async function clusterRestore(ctx: AppContext, r: ClusterRestoreRun, { whileRunning, after }: RestoreHooks): Promise<void> {
  const { job } = r;
  const restore: DrillRestore = { kind: r.kind, target: describeTarget(r.target), backup_id: null, reached: null, reached_log: null, ok: false, seconds: 0, checks: [], error: null };
  r.outcome.restores!.push(restore);
  const dataDir = join(r.scratch, r.kind);
  const began = ctx.now();
  try {
    const restored = await restoreCluster(ctx, {
      job: r.jobName,
      target: r.target,
      toDir: dataDir,
      from: r.from,
      ...(job.drill?.key_file ? { keyFile: job.drill.key_file } : {}),
      ...((job.drill?.key_passphrase_file ?? job.drill?.passphrase_file) ? { passphraseFile: (job.drill?.key_passphrase_file ?? job.drill?.passphrase_file)! } : {}),
      signal: r.signal,
      whileRunning: (server) => whileRunning(server, restore),
    });
    restore.seconds = (ctx.now() - began) / 1000;
    restore.backup_id = restored.backup_id;
    restore.reached_log = restored.checked?.reached ?? null;
    after?.(restore);
    const recovery = restore.checks.find((c) => c.check === "recovery");
    const how = `base backup ${restored.backup_id} and ${restored.wal.count} WAL file(s) through ${restored.wal.last}, checked against their signed records; the cluster started and ended recovery${restore.reached_log ? ` at ${restore.reached_log}` : ""}`;
    if (recovery) recovery.detail = recovery.detail ? `${how}; ${recovery.detail}` : how;
  } catch (err) {
    restore.seconds = (ctx.now() - began) / 1000;
    restore.error = describeError(err);
    throw err;
  } finally {
    restore.ok = restore.error === null && restore.checks.every((c) => c.ok);
    // The latest restore's checks keep their names; the others' say which restore they belong to.
    const label = r.kind === "latest" ? "" : `${r.kind === "moment" ? "random moment" : "restore point"} ${restore.target}: `;
    r.outcome.checks.push(...restore.checks.map((c) => ({ ...c, check: `${label}${c.check}` })));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Where a restored cluster's replay ended: pg_last_wal_replay_lsn and pg_last_xact_replay_timestamp stay put once recovery ended. */
async function replayed(server: RunningCluster, database: string): Promise<{ lsn: Lsn | null; transactionAt: number | null }> {
  const q = await server.query(database, "SELECT coalesce(pg_last_wal_replay_lsn()::text, '-') || ' ' || coalesce(floor(extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::bigint::text, '-')");
  if (!q.ok) throw new OperationError(`the restored cluster did not say where its replay ended: ${q.error}`);
  const [lsn, at] = q.value.split(" ");
  return { lsn: lsn && lsn !== "-" ? parseLsn(lsn) : null, transactionAt: at && at !== "-" ? Number(at) : null };
}

function describeReplayed(r: { lsn: Lsn | null; transactionAt: number | null }): string {
  return `WAL replayed through ${r.lsn === null ? "(nothing)" : formatLsn(r.lsn)}, last transaction ${r.transactionAt === null ? "(none)" : new Date(r.transactionAt).toISOString()}`;
}

/** Tables counted per query: each name goes into the one psql command line. */
const COUNT_BATCH = 100;

/** The recorded tables' rows in the restored cluster, compared with the restore point's counts. */
async function countRows(server: RunningCluster, database: string, point: string, tables: readonly TableCount[]): Promise<CheckResult[]> {
  const found: FoundCount[] = [];
  const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
  for (let i = 0; i < tables.length; i += COUNT_BATCH) {
    const batch = tables.slice(i, i + COUNT_BATCH);
    const q = await server.query(
      database,
      `SELECT coalesce(json_agg(json_build_array(v.s, v.t, CASE WHEN to_regclass(format('%I.%I', v.s, v.t)) IS NULL THEN NULL
                ELSE (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', v.s, v.t), false, true, '')))[1]::text::bigint END)), '[]')
         FROM (VALUES ${batch.map((t) => `(${literal(t.schema)}, ${literal(t.table)})`).join(", ")}) v(s, t)`,
    );
    if (!q.ok) return [{ check: `row counts at ${point}`, ok: false, detail: `counting failed: ${q.error}` }];
    for (const [schema, table, rows] of JSON.parse(q.value) as [string, string, number | null][]) found.push({ schema, table, rows });
  }
  return compareCounts(point, tables, found);
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
