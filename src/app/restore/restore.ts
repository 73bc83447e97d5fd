import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline, type Readable } from "node:stream";
import { parseManifest } from "../../catalog/catalog.js";
import { IntegrityError, OperationError, UsageError } from "../../errors.js";
import type { ArtifactEntry, Manifest } from "../../manifest.js";
import { decompress, type Compression } from "../../pipeline/compress.js";
import { createDecryptor, type Decryptor } from "../../pipeline/decrypt.js";
import { SpanStream } from "../../pipeline/span.js";
import { backupPrefix, type Target } from "../../targets/target.js";
import { jobOf, type AppContext } from "../context.js";
import { backupView, listBackups } from "../list.js";
import { readTargetManifests, rowFromManifest } from "../manifests.js";
import { extractSafely } from "./extract.js";
import { fetchArtifact, type Fetched } from "./fetch.js";
import { checkRowCounts, dropDatabase, openLoader, prepareDatabase, restoreGlobals, type DatabaseTarget } from "./postgres.js";
import { selectBackup, selectCopy } from "./select.js";

export interface RestoreRequest {
  job: string;
  backupId?: string;
  at?: number;
  from?: string;
  toDb?: string;
  toDir?: string;
  database?: string;
  keyFile?: string;
  passphraseFile?: string;
  clean?: boolean;
  withGlobals?: boolean;
  noOwner?: boolean;
  /** postgres: sessions loading the database; above 1, every table's rows are divided among them. */
  jobs?: number;
  dryRun?: boolean;
  /** postgres: the server to restore to, when not the job's own (drills' scratch server). */
  connection?: string;
  /** Told what the restore is doing; the CLI draws a progress bar or log lines from it. */
  onProgress?: (event: RestoreProgress) => void;
}

export type RestoreProgress =
  | { phase: "download"; artifact: string; bytes: number; total: number }
  | { phase: "restore" | "check"; artifact: string };

export interface RestoreOutcome {
  backup_id: string;
  job: string;
  kind: Manifest["kind"];
  snapshot_at: string;
  from: string;
  location: string;
  destination: { database: string; jobs: number } | { directory: string };
  dry_run: boolean;
  /**
   * Milliseconds per phase: download (with the sha256 checks), decrypt (first to last
   * decrypted byte; 0 when not encrypted), restore (decompress and load, from start to
   * end), check. The first three overlap: loading starts on the first checked piece, and
   * decryption streams into the load.
   */
  phases: { download: number; decrypt: number; restore: number; check: number };
  checked: string;
}

/** More sessions than this only queue on the server's locks and cores. */
const MAX_JOBS = 64;

/**
 * Brings a backup back: picks it, downloads each artifact and checks each piece's sha256
 * before use, decrypts and decompresses as a stream, loads it (pg_restore into a new database,
 * or a safe extraction into a new directory) and checks the result against the manifest.
 * A failure removes what the restore created.
 */
export async function restore(ctx: AppContext, req: RestoreRequest, signal: AbortSignal): Promise<RestoreOutcome> {
  const job = jobOf(ctx, req.job);
  // Without a catalog (a bare machine), the target's manifests say what there is.
  const fromCatalog = listBackups(ctx, req.job).length > 0;
  const records = fromCatalog ? [] : await readTargetManifests(ctx, req.from ?? bareSource(ctx, job.targets), req.job);
  const backups = fromCatalog ? listBackups(ctx, req.job) : records.map((r) => backupView(ctx.config, rowFromManifest(ctx, req.from ?? bareSource(ctx, job.targets), r)));
  const picked = selectBackup(backups, { ...(req.backupId ? { backupId: req.backupId } : {}), ...(req.at !== undefined ? { at: req.at } : {}) });
  if (typeof picked === "string") throw new OperationError(`cannot restore ${req.job}: ${picked}`);
  const from = selectCopy(picked, req.from, (t) => ctx.config.targets[t]?.type === "local");
  if (!from) throw new OperationError(`backup ${picked.id} has no usable copy${req.from ? ` on ${req.from}` : ""}`);
  const manifest = fromCatalog ? parseManifest(ctx.catalog.getBackup(picked.id)!) : records.find((r) => r.manifest.id === picked.id)!.manifest;
  const target = ctx.targets.get(from);
  const prefix = backupPrefix(manifest.job, manifest.id);

  const outcome: RestoreOutcome = {
    backup_id: manifest.id,
    job: manifest.job,
    kind: manifest.kind,
    snapshot_at: manifest.snapshot_at,
    from,
    location: target.locate(prefix),
    destination: { directory: "" },
    dry_run: req.dryRun ?? false,
    phases: { download: 0, decrypt: 0, restore: 0, check: 0 },
    checked: "",
  };
  if (job.type === "postgres") {
    if (!req.toDb) throw new UsageError("give --to-db NAME: drd restores into a database you name and never touches the live one by default");
    const jobs = req.jobs ?? 1;
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) throw new UsageError(`--jobs must be a whole number from 1 to ${MAX_JOBS}`);
    outcome.destination = { database: req.toDb, jobs };
  } else {
    if (req.jobs !== undefined) throw new UsageError("--jobs is for database restores: a files backup is extracted as one stream");
    if (!req.toDir) throw new UsageError("give --to-dir DIR (a new or empty directory)");
    outcome.destination = { directory: req.toDir };
    await assertEmptyDir(req.toDir);
  }
  if (req.dryRun) return outcome;

  const decryptor = manifest.encryption ? await createDecryptor(manifest.encryption, { keyFile: req.keyFile, passphraseFile: req.passphraseFile }) : undefined;
  const work = await mkdtemp(join(ctx.config.state_dir, "restore-"));
  try {
    if (manifest.kind === "files") await restoreFiles(target, prefix, manifest, decryptor, req.toDir!, work, outcome, signal, req.onProgress);
    else if (job.type === "postgres") await restorePostgres(job, target, prefix, manifest, decryptor, req, work, outcome, signal);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return outcome;
}

/** The artifact's plain bytes: decrypted in this process (its span timed), decompressed by zstd (or zlib). */
async function plainStream(file: Readable, manifest: Manifest, decryptor: Decryptor | undefined, span: SpanStream, signal: AbortSignal): Promise<Compression> {
  if (!decryptor) return decompress(manifest.compression.algorithm, file, signal);
  // pipeline, not pipe: an error on either side reaches the other.
  pipeline(await decryptor.decrypt(file), span, () => undefined);
  return decompress(manifest.compression.algorithm, span, signal);
}

async function restoreFiles(
  target: Target,
  prefix: string,
  manifest: Extract<Manifest, { kind: "files" }>,
  decryptor: Decryptor | undefined,
  toDir: string,
  work: string,
  outcome: RestoreOutcome,
  signal: AbortSignal,
  onProgress: RestoreRequest["onProgress"],
): Promise<void> {
  const artifact = manifest.artifacts.find((a) => a.role === "files")!;
  // mkdir returns the first directory it made: a failed restore removes what it created.
  const created = await mkdir(toDir, { recursive: true, mode: 0o700 });
  const fetched = timedFetch(target, prefix, artifact, work, outcome, onProgress);
  onProgress?.({ phase: "restore", artifact: artifact.name });
  try {
    const t = Date.now();
    const checked = await loadChecked(
      fetched,
      async (plain) => {
        const [extracted, decompressed] = await Promise.allSettled([extractSafely(plain.output, toDir, manifest.files, process.getuid?.() === 0), plain.done]);
        if (extracted.status === "rejected") throw extracted.reason;
        if (decompressed.status === "rejected") throw decompressed.reason;
        return extracted.value;
      },
      manifest,
      decryptor,
      outcome,
      signal,
    );
    outcome.phases.restore = Date.now() - t;
    outcome.checked = `${checked} file(s) match their sha256 in the manifest`;
  } catch (err) {
    if (created) await rm(created, { recursive: true, force: true });
    else await emptyDir(toDir);
    throw err;
  }
}

async function restorePostgres(
  job: Extract<ReturnType<typeof jobOf>, { type: "postgres" }>,
  target: Target,
  prefix: string,
  manifest: Manifest,
  decryptor: Decryptor | undefined,
  req: RestoreRequest,
  work: string,
  outcome: RestoreOutcome,
  signal: AbortSignal,
): Promise<void> {
  if (manifest.kind !== "postgres") throw new OperationError(`backup ${manifest.id} is not a database dump`);
  const dumps = manifest.artifacts.filter((a) => a.role === "database");
  const artifact: ArtifactEntry | undefined = req.database ? dumps.find((a) => a.database === req.database) : dumps.length === 1 ? dumps[0] : undefined;
  if (!artifact) {
    throw new UsageError(
      req.database
        ? `backup ${manifest.id} holds no database "${req.database}" (it holds ${dumps.map((d) => d.database).join(", ")})`
        : `backup ${manifest.id} holds ${dumps.length} databases (${dumps.map((d) => d.database).join(", ")}): choose one with --database`,
    );
  }
  const globals = req.withGlobals ? manifest.artifacts.find((a) => a.role === "globals") : undefined;
  if (req.withGlobals && !globals) throw new UsageError(`backup ${manifest.id} has no globals (the job sets globals: false)`);

  // Downloads start at once; the database is prepared meanwhile.
  const fetchedGlobals = globals ? timedFetch(target, prefix, globals, work, outcome, req.onProgress) : undefined;
  const fetchedDump = timedFetch(target, prefix, artifact, work, outcome, req.onProgress);
  const fetches = [fetchedDump, ...(fetchedGlobals ? [fetchedGlobals] : [])];
  try {
    await loadDatabase(job, req, manifest, artifact, fetchedDump, fetchedGlobals, decryptor, outcome, signal);
  } catch (err) {
    // Nothing may go on writing into the work directory once the restore gave up.
    for (const f of fetches) f.cancel(err as Error);
    await Promise.allSettled(fetches.map((f) => f.done));
    throw err;
  }
}

async function loadDatabase(
  job: Extract<ReturnType<typeof jobOf>, { type: "postgres" }>,
  req: RestoreRequest,
  manifest: Extract<Manifest, { kind: "postgres" }>,
  artifact: ArtifactEntry,
  fetchedDump: Fetched,
  fetchedGlobals: Fetched | undefined,
  decryptor: Decryptor | undefined,
  outcome: RestoreOutcome,
  signal: AbortSignal,
): Promise<void> {
  const server = req.connection ? { ...job, connection: req.connection } : job;
  const db: DatabaseTarget = await prepareDatabase(server, req.toDb!, req.clean ?? false);
  req.onProgress?.({ phase: "restore", artifact: artifact.name });
  try {
    let t = Date.now();
    if (fetchedGlobals) await loadChecked(fetchedGlobals, (plain) => restoreGlobals(db, plain, signal), manifest, decryptor, outcome, signal);
    const loader = await openLoader(db, { clean: req.clean ?? false, noOwner: req.noOwner ?? false, jobs: req.jobs ?? 1 });
    let loaded: Map<string, number> | undefined;
    try {
      loaded = await loadChecked(fetchedDump, (plain) => loader.load(plain, signal), manifest, decryptor, outcome, signal);
    } finally {
      await loader.close();
    }
    outcome.phases.restore = Date.now() - t;
    req.onProgress?.({ phase: "check", artifact: artifact.name });
    t = Date.now();
    const expected = manifest.postgres.databases.find((d) => d.name === artifact.database);
    const tables = expected ? await checkRowCounts(db, expected, loaded) : [];
    outcome.phases.check = Date.now() - t;
    outcome.checked = `${tables.length} table(s) have the row counts recorded at backup time`;
  } catch (err) {
    if (db.created) await dropDatabase(db).catch(() => undefined);
    throw err;
  } finally {
    await db.conn.close();
  }
}

/** Starts a download; `outcome.phases.download` becomes the time until the last one was checked. */
function timedFetch(target: Target, prefix: string, artifact: ArtifactEntry, work: string, outcome: RestoreOutcome, onProgress: RestoreRequest["onProgress"]): Fetched {
  const started = Date.now();
  const onBytes = onProgress ? (bytes: number, total: number) => onProgress({ phase: "download", artifact: artifact.name, bytes, total }) : undefined;
  const fetched = fetchArtifact(target, prefix + artifact.name, artifact, work, onBytes);
  void fetched.done.then(() => (outcome.phases.download = Math.max(outcome.phases.download, Date.now() - started)), () => undefined);
  return fetched;
}

/**
 * Loads a fetched artifact while it downloads. A failed download check is the cause of
 * whatever the loader made of the cut stream; a loader that fails on its own (a wrong
 * key, pg_restore refusing) stops the download instead of waiting for it.
 */
async function loadChecked<T>(
  fetched: Fetched,
  load: (plain: Compression) => Promise<T>,
  manifest: Manifest,
  decryptor: Decryptor | undefined,
  outcome: RestoreOutcome,
  signal: AbortSignal,
): Promise<T> {
  const span = new SpanStream();
  const loading = plainStream(fetched.open(), manifest, decryptor, span, signal).then(load);
  const [loaded] = await Promise.allSettled([loading]);
  if (loaded.status === "rejected") fetched.cancel(loaded.reason instanceof Error ? loaded.reason : new Error(String(loaded.reason)));
  const [downloaded] = await Promise.allSettled([fetched.done]);
  if (downloaded.status === "rejected" && (loaded.status === "fulfilled" || downloaded.reason instanceof IntegrityError)) throw downloaded.reason;
  if (loaded.status === "rejected") throw loaded.reason;
  outcome.phases.decrypt += span.ms;
  return loaded.value;
}

/** Without --from on a bare machine: the job's first local target, else its first target. */
function bareSource(ctx: AppContext, targets: string[]): string {
  return targets.find((t) => ctx.config.targets[t]?.type === "local") ?? targets[0]!;
}

async function assertEmptyDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw new OperationError(`cannot read ${dir}: ${err.code}`);
  });
  if (entries.length > 0) throw new UsageError(`${dir} is not empty: restore into a new or empty directory`);
}

async function emptyDir(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [])) await rm(join(dir, entry), { recursive: true, force: true });
}

