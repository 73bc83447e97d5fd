import { hostname } from "node:os";
import { pipeline, Readable } from "node:stream";
import { parseManifest, type CopyRow } from "../catalog/catalog.js";
import type { JobConfig } from "../config/schema.js";
import { describeError, OperationError } from "../errors.js";
import { MANIFEST_FORMAT, manifestFrom, manifestSize, type ArtifactEntry, type Manifest, type ManifestData } from "../manifest.js";
import { compress, compressionExtension } from "../pipeline/compress.js";
import { fanOut, type FanOut } from "../pipeline/fan-out.js";
import { sha256Hex } from "../pipeline/digest.js";
import { PieceDigestStream, pieceSizeFor } from "../pipeline/pieces.js";
import { createEncryptor, type Encryptor } from "../pipeline/encrypt.js";
import { slotName } from "../wal/layout.js";
import { slotWasLost, tellSlotLost } from "./slot-lost.js";
import { backupCluster } from "../sources/cluster.js";
import { backupFiles } from "../sources/files.js";
import { backupPostgres } from "../sources/postgres.js";
import type { ArtifactSink, ArtifactSpec, SourceContext, SourceResult } from "../sources/source.js";
import { backupPrefix, MANIFEST_NAME, SIGNATURE_NAME, type Target } from "../targets/target.js";
import { newBackupId } from "./backup-id.js";
import { checkCopy } from "./check-copy.js";
import { assertRoleAllows, jobOf, type AppContext } from "./context.js";
import { BOOT_ID, isClaimAlive } from "./process.js";
import { recoverInterruptedRuns } from "./recover.js";
import { commitCopy, holdCopy, releaseCopy, replicatePending, type WrittenArtifacts } from "./replicate.js";
import { VERSION } from "../version.js";
import { alertMessage } from "../alerts/message.js";
import { backupView } from "./list.js";
import { notify } from "./notify.js";
import { backupFailed, backupSucceeded } from "./problems.js";
import { writeHeads } from "./heads.js";
import { loadSigner } from "../trust/signing.js";
import type { AuditAnchor } from "../audit/trail.js";

export interface BackupOutcome {
  id: string;
  job: string;
  kind: Manifest["kind"];
  size: number;
  sha256: string;
  durationMs: number;
  copies: Pick<CopyRow, "target" | "state" | "location" | "error">[];
}

export interface BackupOptions {
  trigger?: "manual" | "schedule";
  signal?: AbortSignal;
  /** Told what the backup is doing (every 200 ms while an artifact is written); the CLI draws it on a terminal. */
  onProgress?: (event: BackupProgress) => void;
}

export type BackupProgress =
  | { phase: "write"; artifact: string; bytes: number; targets: string[] }
  | { phase: "verify"; target: string }
  | { phase: "copies"; targets: string[] };

const PROGRESS_EVERY_MS = 200;
/** How long a secondary copy recorded pending while its upload finishes is left to this process by other drctl processes' retries. */
const SECONDARY_UPLOAD_GRACE_MS = 10 * 60_000;

/**
 * Runs one backup of a job: the same path for `drctl backup` and the scheduler.
 *
 * The backup is produced once into the job's first target (a local one when it has
 * one), committed there by writing its manifest last, re-read against its sha256, and
 * only then recorded in the catalog; then copied to the job's other targets, where a
 * failure (an S3 outage) leaves the copy pending for a later retry and never touches the
 * local copy. Any failure before the catalog insert removes what was written and records
 * the run as failed.
 */
export async function runBackup(ctx: AppContext, jobName: string, options: BackupOptions = {}): Promise<BackupOutcome> {
  const job = jobOf(ctx, jobName);
  assertRoleAllows(ctx, "backup");
  await recoverInterruptedRuns(ctx);
  const startedAt = ctx.now();
  const backupId = newBackupId(jobName, startedAt);
  const claim = ctx.catalog.startRun(
    { job: jobName, backup_id: backupId, trigger: options.trigger ?? "manual", pid: process.pid, boot_id: BOOT_ID, started_at: startedAt },
    isClaimAlive,
  );
  if ("busy" in claim) throw new OperationError(`job ${jobName} is already running (pid ${claim.busy.pid}, run ${claim.busy.id})`);
  const run = claim.started;

  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const primary = ctx.targets.get(primaryTargetOf(ctx, job));
  const prefix = backupPrefix(jobName, backupId);
  const secondaries: Secondary[] = job.targets
    .filter((t) => t !== primary.name)
    .map((name) => {
      try {
        return { name, target: ctx.targets.get(name), error: undefined, written: { storeVerified: true, versions: {} } };
      } catch (err) {
        return { name, target: undefined, error: describeError(err), written: { storeVerified: false, versions: {} } };
      }
    });
  // Its secondaries' uploads go on finishing (an S3 store completing a multipart upload)
  // while the primary copy is committed and re-read.
  let sink: TargetSink | undefined;
  let held = false;
  try {
    const encryptor = job.encrypt ? await createEncryptor(job.encrypt) : undefined;
    const signer = ctx.config.signing ? await loadSigner(ctx.config.signing.key_file) : undefined;
    const previous = ctx.catalog.newestBackup(jobName);
    sink = new TargetSink({ job, encryptor, primary, secondaries, prefix, signal: abort.signal, previousSizes: previousSizes(previous?.manifest), onProgress: options.onProgress });
    const source = await produce(jobName, job, { sink, signal: abort.signal }, backupId);
    abort.signal.throwIfAborted();
    // A base backup that reached a server without the job's slot (after a failover) before the stream did: told here, as the stream would.
    if (source.kind === "postgres_cluster" && job.type === "postgres_cluster" && source.slot && slotWasLost(ctx, jobName, job, source.slot))
      tellSlotLost(ctx, jobName, slotName(jobName), source.slot, `this base backup, ${backupId}, is where the chain is whole again`);

    const audit = ctx.catalog.auditAnchor();
    const manifestText = `${JSON.stringify(buildManifest({ id: backupId, job: jobName, config: job, encryptor, artifacts: sink.artifacts, source, previousId: previous?.id ?? null, startedAt, finishedAt: ctx.now(), audit }), null, 2)}\n`;
    // Held to the bounds every reader checks: a manifest no reader would accept is no backup.
    const manifest = manifestFrom(manifestText, (reason) => new OperationError(`the backup's manifest would be refused by a restore: ${reason}`));
    const manifestSha256 = sha256Hex(manifestText);
    // The signature goes first: the manifest, written last, is what makes a backup exist.
    const signature = signer ? await signer.sign(manifestText) : null;
    if (signature) await primary.put(prefix + SIGNATURE_NAME, Readable.from([Buffer.from(signature)]));
    await primary.put(prefix + MANIFEST_NAME, Readable.from([Buffer.from(manifestText)]));

    options.onProgress?.({ phase: "verify", target: primary.name });
    const check = await checkCopy(primary, manifest, { sha256: manifestSha256, signature });
    if (!check.ok) throw new OperationError(`the new copy on ${primary.name} failed its re-read: ${check.problem}`);
    // Recorded as soon as the primary copy is proven: a secondary that hangs never holds it back.
    // Its copy stays pending, held from the retry timer until its upload has settled.
    for (const s of secondaries) holdCopy(backupId, s.name);
    held = true;
    const finishedAt = ctx.now();
    ctx.catalog.recordBackup(
      {
        id: backupId,
        job: jobName,
        kind: manifest.kind,
        run_id: run.id,
        snapshot_at: startedAt,
        finished_at: finishedAt,
        size: manifestSize(manifest),
        sha256: manifestSha256,
        encryption: manifest.encryption ? JSON.stringify(manifest.encryption) : null,
        manifest: manifestText,
        signature,
      },
      job.targets.map((t) => ({
        backup_id: backupId,
        target: t,
        location: t === primary.name ? primary.locate(prefix) : safeLocate(ctx, t, prefix),
        state: t === primary.name ? "verified" : "pending",
        written_at: t === primary.name ? finishedAt : null,
        verified_at: t === primary.name ? finishedAt : null,
        error: secondaries.find((s) => s.name === t)?.error ?? null,
        attempts: 0,
        // A secondary's own upload may still run: another drctl's retry waits for it a while.
        next_attempt_at: t === primary.name ? null : finishedAt + SECONDARY_UPLOAD_GRACE_MS,
      })),
      { id: run.id, at: finishedAt },
    );
  } catch (err) {
    if (held) for (const s of secondaries) releaseCopy(backupId, s.name);
    const interrupted = abort.signal.aborted;
    const message = interrupted ? `interrupted: ${describeError(abort.signal.reason ?? err)}` : describeError(err);
    abort.abort(err);
    await Promise.all(sink?.secondaryTails ?? []);
    for (const t of [primary, ...secondaries.flatMap((s) => (s.target ? [s.target] : []))]) await removeQuietly(t, prefix);
    ctx.catalog.finishRun(run.id, interrupted ? "interrupted" : "failed", ctx.now(), message);
    ctx.catalog.addEvent({ at: ctx.now(), kind: "backup_failed", job: jobName, backup_id: backupId, detail: message });
    // A backup stopped by shutdown is not a failure to page anyone about.
    if (!interrupted) backupFailed(ctx, jobName, backupId, message);
    options.signal?.removeEventListener("abort", onOuterAbort);
    throw err instanceof OperationError && !interrupted ? err : new OperationError(`backup of ${jobName} failed: ${message}`, { cause: err });
  }

  // Secondaries that took every artifact get the manifest; the others are copied from the
  // primary now, then older copies still pending for this job. Every request to a store has
  // a deadline, and a shutdown aborts them: the copies then stay pending for a later retry.
  // The backup is recorded: nothing from here on may undo it.
  try {
    backupSucceeded(ctx, jobName, backupId);
    if (secondaries.length > 0) options.onProgress?.({ phase: "copies", targets: secondaries.map((s) => s.name) });
    await Promise.all(sink?.secondaryTails ?? []);
    const recorded = ctx.catalog.getBackup(backupId)!;
    for (const s of secondaries) {
      if (s.target && !s.error && !abort.signal.aborted)
        await commitCopy(ctx, recorded, s.name, s.target, s.written, abort.signal).catch((err: unknown) =>
          ctx.catalog.updateCopy(backupId, s.name, { error: describeError(err) }),
        );
      releaseCopy(backupId, s.name);
    }
    if (!abort.signal.aborted) await replicatePending(ctx, { backupId, force: true, signal: abort.signal });
    if (!abort.signal.aborted) await replicatePending(ctx, { job: jobName, signal: abort.signal });
    // The heads of the targets that took this backup name it; one still pending gets its head
    // when its copy is made (a target that hangs never holds the run here).
    const took = ctx.catalog.getBackup(backupId)!.copies.filter((c) => c.state === "verified").map((c) => c.target);
    if (!abort.signal.aborted) await writeHeads(ctx, jobName, took);
  } finally {
    for (const s of secondaries) releaseCopy(backupId, s.name);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
  const backup = ctx.catalog.getBackup(backupId)!;
  const verdict = backupView(ctx.config, backup).policy;
  if (!verdict.ok) {
    const pending = backup.copies.filter((c) => c.state === "pending").map((c) => `${c.target}${c.error ? ` (${c.error})` : ""}`);
    notify(ctx, alertMessage("policy_violation", jobName, `backup ${backupId} of ${jobName} does not meet the policy: ${verdict.missing.join(", ")}${pending.length ? `; pending: ${pending.join(", ")}` : ""}`, { backup_id: backupId, missing: verdict.missing }, ctx.now()));
  }
  return {
    id: backupId,
    job: jobName,
    kind: backup.kind,
    size: backup.size,
    sha256: backup.sha256,
    durationMs: backup.finished_at - startedAt,
    copies: backup.copies.map((c) => ({ target: c.target, state: c.state, location: c.location, error: c.error })),
  };
}

/** The first local target of the job, else its first target: where the backup is produced. */
function primaryTargetOf(ctx: AppContext, job: JobConfig): string {
  return job.targets.find((t) => ctx.config.targets[t]?.type === "local") ?? job.targets[0]!;
}

function produce(jobName: string, job: JobConfig, sourceCtx: SourceContext, backupId: string): Promise<SourceResult> {
  switch (job.type) {
    case "postgres":
      return backupPostgres(job, sourceCtx);
    case "files":
      return backupFiles(job, sourceCtx);
    case "postgres_cluster":
      // Archive mode has no slot: a slot no receiver reads would keep every WAL file on the server.
      return backupCluster(job, sourceCtx, job.wal.mode === "stream" ? slotName(jobName) : undefined, backupId);
  }
}

/** A target the backup is written to while it is produced, besides the primary. */
interface Secondary {
  name: string;
  target: Target | undefined;
  /** Set once an artifact failed or stalled there; the copy is then made later from the primary. */
  error: string | undefined;
  /** What its uploads established: the store's checksums matched, the versions it gave. */
  written: WrittenArtifacts;
}

interface SinkOptions {
  job: JobConfig;
  encryptor: Encryptor | undefined;
  primary: Target;
  secondaries: Secondary[];
  prefix: string;
  signal: AbortSignal;
  /** Each artifact's size last time, by name: sizes its pieces and S3 parts. */
  previousSizes: Map<string, number>;
  onProgress: BackupOptions["onProgress"];
}

/**
 * raw -> compression -> encryption -> every target at once, streamed; each stage runs
 * concurrently. The primary sets the pace; a secondary that fails or stalls is cut loose.
 * Collects the artifacts written, and the secondaries' uploads still finishing.
 */
class TargetSink implements ArtifactSink {
  readonly artifacts: ArtifactEntry[] = [];
  /** Uploads to the other targets finishing on their own; they never reject. */
  readonly secondaryTails: Promise<void>[] = [];

  constructor(private readonly o: SinkOptions) {}

  async write(spec: ArtifactSpec, raw: Readable, producerDone: () => Promise<unknown>): Promise<ArtifactEntry> {
    const { job, encryptor, primary, secondaries, prefix, signal } = this.o;
    if (raw === null || raw === undefined) {
      await producerDone();
      throw new OperationError(`no output stream for ${spec.baseName}`);
    }
    const name = `${spec.baseName}${compressionExtension(job.compression)}${encryptor ? ".gpg" : ""}`;
    const compression = compress(job.compression, raw, signal);
    const ready = async () => {
      await compression.done;
      await producerDone();
    };
    const live = secondaries.filter((s) => s.target && !s.error);
    let fan: FanOut | undefined;
    const expectedSize = this.o.previousSizes.get(name);
    const pieces = new PieceDigestStream(pieceSizeFor(expectedSize));
    const stored = (async () => {
      const payload = encryptor ? await encryptor.encrypt(compression.output) : compression.output;
      // pipeline, not pipe: a failed write destroys the stages upstream too, so nothing waits forever.
      pipeline(payload, pieces, () => undefined);
      fan = fanOut(pieces, live.length);
      const primaryPut = primary.put(prefix + name, fan.primary, { ready });
      const copies = live.map((s, i) =>
        s.target!.put(prefix + name, fan!.secondaries[i]!.stream, { ready, sameBytesAs: primaryPut, signal, ...(expectedSize ? { expectedSize } : {}) }).then(
          (put) => {
            s.written.storeVerified &&= put.storeVerified === true;
            if (put.version) s.written.versions[name] = put.version;
          },
          (err: unknown) => {
            s.error = fan!.secondaries[i]!.detached?.message ?? describeError(err);
          },
        ),
      );
      // Secondaries finish on their own; their failures never fail the backup.
      this.secondaryTails.push(Promise.all(copies).then(() => undefined));
      const [p, f] = await Promise.allSettled([primaryPut, fan.done]);
      if (p.status === "rejected") throw p.reason;
      if (f.status === "rejected") throw f.reason;
      return p.value;
    })();
    const report = this.o.onProgress;
    const tell = () => report?.({ phase: "write", artifact: name, bytes: pieces.bytes, targets: [primary.name, ...live.map((s) => s.name)] });
    const ticker = report ? setInterval(tell, PROGRESS_EVERY_MS) : undefined;
    // Wait for both even when one fails, so no stage is left running.
    const [c, st] = await Promise.allSettled([compression.inputBytes, stored]).finally(() => clearInterval(ticker));
    tell();
    if (st.status === "rejected") throw st.reason;
    if (c.status === "rejected") throw c.reason;
    const entry: ArtifactEntry = { name, role: spec.role, format: spec.format, size: st.value.size, sha256: st.value.sha256, content_size: c.value, pieces: pieces.pieces() };
    if (spec.database !== undefined) entry.database = spec.database;
    this.artifacts.push(entry);
    return entry;
  }
}

/** Each artifact's size in the job's newest backup: the manifest sizes its pieces from it, an S3 copy its parts. */
function previousSizes(manifest: string | undefined): Map<string, number> {
  return new Map(manifest ? parseManifest({ manifest }).artifacts.map((a) => [a.name, a.size]) : []);
}

interface ManifestParts {
  id: string;
  job: string;
  config: JobConfig;
  encryptor: Encryptor | undefined;
  artifacts: ArtifactEntry[];
  source: SourceResult;
  previousId: string | null;
  startedAt: number;
  finishedAt: number;
  /** Where the audit trail stands (undefined before its first entry). */
  audit: AuditAnchor | undefined;
}

function buildManifest(p: ManifestParts): ManifestData {
  const base = {
    format: MANIFEST_FORMAT,
    id: p.id,
    job: p.job,
    host: hostname(),
    previous_id: p.previousId,
    drd_version: VERSION,
    snapshot_at: new Date(p.startedAt).toISOString(),
    finished_at: new Date(p.finishedAt).toISOString(),
    compression: { algorithm: p.config.compression.algorithm, level: p.config.compression.level ?? null },
    encryption: p.encryptor?.info ?? null,
    artifacts: p.artifacts,
    ...(p.audit ? { audit: { lines: p.audit.lines, head: p.audit.head } } : {}),
  } as const;
  switch (p.source.kind) {
    case "postgres":
      return { ...base, kind: "postgres", postgres: p.source.postgres };
    case "files":
      return { ...base, kind: "files", files: p.source.files };
    case "postgres_cluster":
      return { ...base, kind: "postgres_cluster", cluster: p.source.cluster };
  }
}

function safeLocate(ctx: AppContext, target: string, key: string): string {
  try {
    return ctx.targets.get(target).locate(key);
  } catch {
    return key;
  }
}

async function removeQuietly(target: Target, prefix: string): Promise<void> {
  try {
    await target.delete((await target.list(prefix)).map((o) => o.key));
  } catch {
    // Recovery at the next start removes what is left.
  }
}
