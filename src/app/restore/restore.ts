import { mkdir, readdir, rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream";
import type { PostgresJobConfig } from "../../config/schema.js";
import { describeError, IntegrityError, OperationError, UsageError } from "../../errors.js";
import type { ArtifactEntry, Manifest } from "../../manifest.js";
import { declaredLimit, decompress, type Compression } from "../../pipeline/compress.js";
import { createDecryptor, type Decryptor } from "../../pipeline/decrypt.js";
import { SpanStream } from "../../pipeline/span.js";
import { PgConnection } from "../../sources/pg-connection.js";
import { backupPrefix, type Target } from "../../targets/target.js";
import { audit } from "../audit.js";
import { assertTarget, jobOf, type AppContext } from "../context.js";
import { extractSafely } from "./extract.js";
import { CopyDamaged, CopyUnreachable, fetchArtifact, type Fetched } from "./fetch.js";
import { checkRowCounts, dropDatabase, dumpOwners, inspectDatabase, judgeOwners, openLoader, prepareDatabase, restoreGlobals, swapDatabase, type DatabaseTarget } from "./postgres.js";
import { chooseBackup, NoCopyLeft, type CopyFailure } from "./choose.js";
import { resolveMapping, WHOLE_TREE, type PathMapping } from "./selection.js";
import { readListing, tarBound, type FilesListing } from "./listing.js";
import { makeStaging, removeDeadStaging } from "./staging.js";

export interface RestoreRequest {
  job: string;
  backupId?: string;
  at?: number;
  from?: string;
  toDb?: string;
  toDir?: string;
  /** files: only these paths (as backed up, absolute) and what lies below them. */
  paths?: string[];
  /** files: the leading directory removed from every restored path (default: the one all the job's paths lie in). */
  stripPrefix?: string;
  /** files: keep every path as backed up (DIR/etc/sysmanage/...). */
  fullPaths?: boolean;
  /** files, as root: owners by the numbers recorded, never by name. */
  numericOwner?: boolean;
  database?: string;
  keyFile?: string;
  /** The symmetric passphrase, or the one that unlocks keyFile when that key is protected. */
  passphraseFile?: string;
  /** How the user gave passphraseFile, for messages (a drill: drill.key_passphrase_file). */
  passphraseFlag?: string;
  clean?: boolean;
  withGlobals?: boolean;
  noOwner?: boolean;
  /** postgres: leave out GRANTs and REVOKEs. */
  noPrivileges?: boolean;
  /** postgres: sessions loading the database; above 1, every table's rows are divided among them. */
  jobs?: number;
  dryRun?: boolean;
  /** Restore a backup read from a target whose manifest is not signed by a trusted key (made before signing). */
  allowUnsigned?: boolean;
  /** postgres: run the SQL of such a backup (pg_restore, psql for globals), which a superuser's restore runs with its rights. */
  allowUntrustedSql?: boolean;
  /** postgres: the server to restore to, when not the job's own (drills' scratch server). */
  connection?: string;
  /** Told what the restore is doing; the CLI draws a progress bar or log lines from it. */
  onProgress?: (event: RestoreProgress) => void;
}

export type RestoreProgress =
  | { phase: "warning"; message: string }
  | { phase: "download"; artifact: string; bytes: number; total: number }
  | { phase: "restore"; artifact: string; decrypting: boolean }
  | { phase: "check"; artifact: string };

export interface RestoreOutcome {
  backup_id: string;
  job: string;
  kind: "postgres" | "files";
  snapshot_at: string;
  from: string;
  location: string;
  destination: { database: string; jobs: number } | { directory: string; strip_prefix: string; paths: string[] | null };
  dry_run: boolean;
  /**
   * Milliseconds per phase: download (with the sha256 checks), decrypt (first to last
   * decrypted byte; 0 when not encrypted), restore (decompress and load, from start to
   * end), check. The first three overlap: loading starts on the first checked piece, and
   * decryption streams into the load.
   */
  phases: { download: number; decrypt: number; restore: number; check: number };
  checked: string;
  /** What the operator should know although the restore went ahead (an unsigned backup restored). */
  warnings: string[];
}

/** More sessions than this only queue on the server's locks and cores. */
const MAX_JOBS = 64;

/**
 * Brings a backup back: picks it, downloads each artifact and checks each piece's sha256
 * before use, decrypts and decompresses as a stream, loads it (pg_restore into a new database,
 * or a safe extraction into a new directory) and checks the result against the manifest.
 * A failure removes what the restore created. A dry run makes every check a real run makes
 * before writing (the backup trusted, the key, the copy reachable, the destination) and stops.
 */
export async function restore(ctx: AppContext, req: RestoreRequest, signal: AbortSignal): Promise<RestoreOutcome> {
  // Without --from, a copy that cannot be read (missing, unreachable, damaged) gives way to the next.
  const avoid = new Set<string>();
  const skipped: string[] = [];
  let allDamaged = true;
  for (;;) {
    try {
      const outcome = await restoreAttempt(ctx, req, signal, avoid);
      if (skipped.length > 0) outcome.warnings.unshift(`restored from ${outcome.from}: ${skipped.join("; ")}`);
      return outcome;
    } catch (err) {
      const target = err instanceof CopyUnreachable || err instanceof CopyDamaged ? (err as CopyFailure).target : undefined;
      if (target !== undefined && req.from === undefined && !signal.aborted) {
        avoid.add(target);
        const last = !hasAnotherCopy(ctx, req.job, avoid);
        // The job's only copy: its own error says it all.
        if (last && skipped.length === 0) throw err;
        allDamaged &&= err instanceof CopyDamaged;
        skipped.push(`${target} was skipped: ${(err as Error).message}`);
        if (!last) {
          req.onProgress?.({ phase: "warning", message: `the copy on ${target} cannot be restored (${(err as Error).message}); trying the next copy` });
          continue;
        }
      } else if (!(err instanceof NoCopyLeft && skipped.length > 0)) throw err;
      // Every copy damaged is an integrity failure; one that could not be reached leaves it an operation failure.
      const message = `no copy of ${req.job} could be restored: ${skipped.join("; ")}`;
      throw allDamaged ? new IntegrityError(message) : new OperationError(message);
    }
  }
}

/** Whether the job has a target not yet tried (the catalog's copies, or on a bare machine the config's targets). */
function hasAnotherCopy(ctx: AppContext, job: string, avoid: ReadonlySet<string>): boolean {
  return (ctx.config.jobs[job]?.targets ?? []).some((t) => !avoid.has(t));
}

/** One restore from one copy, in the audit trail whatever its outcome (dry runs aside). */
async function restoreAttempt(ctx: AppContext, req: RestoreRequest, signal: AbortSignal, avoid: ReadonlySet<string>): Promise<RestoreOutcome> {
  let outcome: RestoreOutcome | undefined;
  let succeeded = false;
  try {
    outcome = await restoreBackup(ctx, req, signal, (o) => (outcome = o), avoid).catch((err: unknown) => {
      // Which copy failed, for the next attempt to leave aside.
      if ((err instanceof CopyUnreachable || err instanceof CopyDamaged) && outcome) (err as CopyFailure).target = outcome.from;
      throw err;
    });
    succeeded = true;
    return outcome;
  } finally {
    // Every restore that got as far as choosing a backup is in the audit trail, dry runs aside.
    if (outcome && !outcome.dry_run) {
      const failed = !succeeded;
      const destination = "database" in outcome.destination ? { database: outcome.destination.database } : { directory: outcome.destination.directory };
      try {
        audit(ctx, { event: "restore", outcome: failed ? "failed" : "ok", job: outcome.job, backup_id: outcome.backup_id, target: outcome.from, detail: { ...destination, ...(outcome.warnings.length ? { warnings: outcome.warnings } : {}) } });
      } catch (err) {
        // The data is in place: an unwritable trail must not make the restore look failed.
        const where = "database" in outcome.destination ? `database ${outcome.destination.database}` : outcome.destination.directory;
        if (succeeded) outcome.warnings.push(`the restore into ${where} succeeded and its data is there, but the audit trail could not record it: ${describeError(err)}`);
      }
    }
  }
}

/** A cluster job is restored to a point in time (restore/cluster.ts), never as a dump or a directory of files. */
function clusterRestoreRefused(job: string): UsageError {
  return new UsageError(`${job} is a postgres_cluster job: restore it to a point in time with drctl restore ${job} --at TIME|latest --to-dir DIR`);
}

async function restoreBackup(ctx: AppContext, req: RestoreRequest, signal: AbortSignal, started: (o: RestoreOutcome) => void, avoid: ReadonlySet<string>): Promise<RestoreOutcome> {
  const job = jobOf(ctx, req.job);
  if (job.type === "postgres_cluster") throw clusterRestoreRefused(req.job);
  if (req.from !== undefined) assertTarget(ctx, req.from);
  const chosen = await chooseBackup(ctx, req, avoid);
  const { manifest, from } = chosen;
  if (manifest.kind === "postgres_cluster") throw clusterRestoreRefused(req.job);
  if (chosen.untrusted && job.type === "postgres" && !req.allowUntrustedSql)
    throw new IntegrityError(
      `backup ${manifest.job}/${manifest.id} is untrusted, and restoring a database runs the SQL it holds: restored by a superuser, a dump can run commands on the database server (COPY ... TO PROGRAM); restore refused (--allow-untrusted-sql runs it, for a backup whose origin you know)`,
    );
  const target = ctx.targets.get(from);
  const prefix = backupPrefix(manifest.job, manifest.id);
  const outcome: RestoreOutcome = {
    backup_id: manifest.id,
    job: manifest.job,
    kind: manifest.kind,
    snapshot_at: manifest.snapshot_at,
    from,
    location: target.locate(prefix),
    destination: { directory: "", strip_prefix: "/", paths: null },
    dry_run: req.dryRun ?? false,
    phases: { download: 0, decrypt: 0, restore: 0, check: 0 },
    checked: "",
    warnings: chosen.warnings,
  };
  started(outcome);
  for (const message of chosen.warnings) req.onProgress?.({ phase: "warning", message });
  if (job.type === "postgres") {
    if (req.paths || req.stripPrefix !== undefined || req.fullPaths) throw new UsageError("--path, --strip-prefix and --full-paths are for files backups");
    if (!req.toDb) throw new UsageError("give --to-db NAME: drd restores into a database you name and never touches the live one by default");
    const jobs = req.jobs ?? 1;
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) throw new UsageError(`--jobs must be a whole number from 1 to ${MAX_JOBS}`);
    outcome.destination = { database: req.toDb, jobs };
  } else {
    if (req.jobs !== undefined) throw new UsageError("--jobs is for database restores: a files backup is extracted as one stream");
    if (!req.toDir) throw new UsageError("give --to-dir DIR (a new or empty directory)");
    outcome.destination = { directory: req.toDir, strip_prefix: "/", paths: req.paths ?? null };
    await assertEmptyDir(req.toDir);
  }
  // The key is checked against the backup's recipients before a byte is downloaded.
  const decryptor = manifest.encryption ? await createDecryptor(manifest.encryption, { keyFile: req.keyFile, passphraseFile: req.passphraseFile, ...(req.passphraseFlag ? { passphraseFlag: req.passphraseFlag } : {}) }) : undefined;
  await removeDeadStaging(ctx.config.state_dir);
  const work = await makeStaging(ctx.config.state_dir);
  const run = new ArtifactLoader({ target, prefix, manifest, decryptor, work, outcome, signal, onProgress: req.onProgress, versions: chosen.versions });
  try {
    // A files restore knows every entry before it writes one: the paths asked for are checked against them.
    const files = manifest.kind === "files" ? await filesListing(run, manifest) : undefined;
    const mapping = files ? resolveMapping(files, req) : WHOLE_TREE;
    if (files) outcome.destination = { directory: req.toDir!, strip_prefix: `/${mapping.strip.join("/")}`, paths: req.paths ?? null };
    if (req.dryRun) {
      await assertReachable(target, prefix, manifest);
      if (job.type === "postgres") {
        await inspectDatabase(serverOf(job, req), req.toDb!, req.clean ?? false);
        await dryRunOwners(run, manifest, serverOf(job, req), req);
      }
      return outcome;
    }
    if (req.keyFile || req.passphraseFile)
      audit(ctx, { event: "key_use", outcome: "ok", job: manifest.job, backup_id: manifest.id, target: from, detail: req.keyFile ? { key_file: req.keyFile } : { passphrase_file: req.passphraseFile } });
    if (chosen.warnings.length > 0) ctx.catalog.addEvent({ at: ctx.now(), kind: "restore_untrusted", job: manifest.job, backup_id: manifest.id, target: from, detail: chosen.warnings.join("; ") });
    if (manifest.kind === "files") await restoreFiles(run, manifest, files!, req.toDir!, mapping, req.numericOwner ?? false, chosen.untrusted);
    else if (job.type === "postgres") await restorePostgres(run, manifest, serverOf(job, req), req);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return outcome;
}

/** A files backup's entries: in its manifest (earlier versions), else in its listing artifact, fetched and checked first. */
async function filesListing(run: ArtifactLoader, manifest: Extract<Manifest, { kind: "files" }>): Promise<FilesListing> {
  const { files } = manifest;
  if (files.entries) return { paths: files.paths, entries: files.entries };
  const artifact = manifest.artifacts.find((a) => a.role === "listing");
  if (!artifact) throw new IntegrityError(`backup ${manifest.id} lists neither its entries nor a listing artifact; restore refused`);
  const entries = await run.load(run.fetch(artifact), async (plain) => {
    const [read, decompressed] = await Promise.allSettled([readListing(plain.output, files.entry_count), plain.done]);
    if (read.status === "rejected") throw read.reason;
    if (decompressed.status === "rejected") throw decompressed.reason;
    return read.value;
  }, { bytes: artifact.content_size, readHere: true });
  return { paths: files.paths, entries };
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.()}`;
  }
}

function serverOf(job: PostgresJobConfig, req: RestoreRequest): PostgresJobConfig {
  return req.connection ? { ...job, connection: req.connection } : job;
}

/** Every artifact of the copy is there with its recorded size: a dry run's "the store answers". */
async function assertReachable(target: Target, prefix: string, manifest: Manifest): Promise<void> {
  for (const artifact of manifest.artifacts) {
    const info = await target.stat(prefix + artifact.name);
    if (!info) throw new CopyDamaged(`${artifact.name} is missing from ${target.locate(prefix)}`);
    if (info.size !== artifact.size) throw new CopyDamaged(`${artifact.name} on ${target.name} has ${info.size} bytes, the manifest records ${artifact.size}`);
  }
}

/** The parts of one restore that every artifact's download, decryption and load share. */
interface LoaderParts {
  target: Target;
  prefix: string;
  manifest: Manifest;
  decryptor: Decryptor | undefined;
  work: string;
  outcome: RestoreOutcome;
  signal: AbortSignal;
  onProgress: RestoreRequest["onProgress"];
  /** The store's version of each object of the copy, when the catalog recorded them. */
  versions: Record<string, string>;
}

/**
 * How many plain bytes an artifact may have (undefined: its manifest does not say), and
 * whether this process reads them (else they go to pg_restore or psql as they are).
 */
interface Declared {
  bytes: number | undefined;
  readHere: boolean;
}

/** Fetches artifacts and loads each while it downloads, timing the phases into `outcome`. */
class ArtifactLoader {
  constructor(readonly p: LoaderParts) {}

  /** Starts a download; the download phase becomes the time until the last one was checked. */
  fetch(artifact: ArtifactEntry): Fetched {
    const { target, prefix, work, outcome, onProgress } = this.p;
    const started = Date.now();
    const onBytes = onProgress ? (bytes: number, total: number) => onProgress({ phase: "download", artifact: artifact.name, bytes, total }) : undefined;
    const fetched = fetchArtifact(target, prefix + artifact.name, artifact, work, { onBytes, version: this.p.versions[artifact.name] });
    void fetched.done.then(() => (outcome.phases.download = Math.max(outcome.phases.download, Date.now() - started)), () => undefined);
    return fetched;
  }

  /**
   * Loads a fetched artifact while it downloads. A download that failed on its own (a
   * damaged piece, an unreachable store) is the cause of whatever the loader made of the
   * cut stream; a loader that fails on its own (a wrong key, pg_restore refusing) stops
   * the download instead of waiting for it.
   */
  async load<T>(fetched: Fetched, load: (plain: Compression) => Promise<T>, declared: Declared): Promise<T> {
    const span = new SpanStream();
    const loading = this.plain(fetched, span, declared).then(load);
    const [loaded] = await Promise.allSettled([loading]);
    const loadError = loaded.status === "rejected" ? (loaded.reason instanceof Error ? loaded.reason : new Error(String(loaded.reason))) : undefined;
    if (loadError) fetched.cancel(loadError);
    const [downloaded] = await Promise.allSettled([fetched.done]);
    if (downloaded.status === "rejected" && downloaded.reason !== loadError) throw downloaded.reason;
    if (loaded.status === "rejected") throw loaded.reason;
    this.p.outcome.phases.decrypt += span.ms;
    return loaded.value;
  }

  /**
   * Reads the head of a fetched artifact's plain bytes (what `read` consumes) from a reader
   * of its own, while the download goes on for the real load; the rest is left unread.
   */
  async peek<T>(fetched: Fetched, read: (plain: Compression) => Promise<T>): Promise<T> {
    const plain = await this.plain(fetched, new SpanStream(), { bytes: undefined, readHere: false });
    plain.done.catch(() => undefined);
    try {
      return await read(plain);
    } catch (err) {
      // A damaged download is the cause of whatever the reader made of the cut stream.
      fetched.cancel(err as Error);
      const [downloaded] = await Promise.allSettled([fetched.done]);
      throw downloaded.status === "rejected" && downloaded.reason !== err ? downloaded.reason : err;
    } finally {
      plain.output.destroy();
    }
  }

  /**
   * The artifact's plain bytes: decrypted in this process (its span timed), decompressed by
   * zstd (or zlib), and held to the `declared` size: past it the restore stops.
   */
  private async plain(fetched: Fetched, span: SpanStream, declared: Declared): Promise<Compression> {
    const { manifest, decryptor, signal } = this.p;
    const limit = declared.bytes === undefined ? undefined : declaredLimit(fetched.name, declared.bytes, declared.readHere);
    const file = fetched.open();
    if (!decryptor) return decompress(manifest.compression.algorithm, file, signal, limit);
    // pipeline, not pipe: an error on either side reaches the other.
    pipeline(await decryptor.decrypt(file), span, () => undefined);
    return decompress(manifest.compression.algorithm, span, signal, limit);
  }
}

async function restoreFiles(run: ArtifactLoader, manifest: Extract<Manifest, { kind: "files" }>, files: FilesListing, toDir: string, mapping: PathMapping, numericOwner: boolean, untrusted: boolean): Promise<void> {
  const { outcome, onProgress } = run.p;
  const owners = { restore: process.getuid?.() === 0, numeric: numericOwner, untrusted };
  // Said once: a restore as another user keeps modes and times, not owners.
  if (untrusted)
    outcome.warnings.push(`owners and setuid/setgid bits were not restored: the backup is untrusted, so its listing's word on them is not taken; every file is ${userName()}'s`);
  else if (!owners.restore && files.entries.some((e) => e.uid !== undefined))
    outcome.warnings.push(`owners were not restored: restoring as ${userName()}, every file is its own; run the restore as root to give files back to their owners`);
  const artifact = manifest.artifacts.find((a) => a.role === "files")!;
  // mkdir returns the first directory it made: a failed restore removes what it created.
  const created = await mkdir(toDir, { recursive: true, mode: 0o700 });
  const fetched = run.fetch(artifact);
  onProgress?.({ phase: "restore", artifact: artifact.name, decrypting: run.p.decryptor !== undefined });
  try {
    const t = Date.now();
    // The tar can hold no more than its entries declare (and, when recorded, no more than it held).
    const declared = Math.min(tarBound(files.entries), artifact.content_size ?? Infinity);
    const checked = await run.load(fetched, async (plain) => {
      const [extracted, decompressed] = await Promise.allSettled([extractSafely(plain.output, toDir, files, owners, mapping), plain.done]);
      if (extracted.status === "rejected") throw extracted.reason;
      if (decompressed.status === "rejected") throw decompressed.reason;
      return extracted.value;
    }, { bytes: declared, readHere: true });
    outcome.phases.restore = Date.now() - t;
    outcome.checked = `${checked} file(s) match their sha256 in the manifest`;
  } catch (err) {
    if (created) await rm(created, { recursive: true, force: true });
    else await emptyDir(toDir);
    throw err;
  }
}

async function restorePostgres(run: ArtifactLoader, manifest: Manifest, server: PostgresJobConfig, req: RestoreRequest): Promise<void> {
  if (manifest.kind !== "postgres") throw new OperationError(`backup ${manifest.id} is not a database dump`);
  const artifact = dumpArtifact(manifest, req);
  const globals = req.withGlobals ? manifest.artifacts.find((a) => a.role === "globals") : undefined;
  if (req.withGlobals && !globals) throw new UsageError(`backup ${manifest.id} has no globals (the job sets globals: false)`);

  // Downloads start at once; the database is prepared meanwhile.
  const fetchedGlobals = globals ? run.fetch(globals) : undefined;
  const fetchedDump = run.fetch(artifact);
  const fetches = [fetchedDump, ...(fetchedGlobals ? [fetchedGlobals] : [])];
  try {
    await loadDatabase(run, { manifest, artifact, globals, fetchedDump, fetchedGlobals, server, req });
  } catch (err) {
    // Nothing may go on writing into the work directory once the restore gave up.
    for (const f of fetches) f.cancel(err as Error);
    await Promise.allSettled(fetches.map((f) => f.done));
    throw err;
  }
}

/** The database dump a restore takes: the one --database names, or the only one. */
function dumpArtifact(manifest: Manifest, req: RestoreRequest): ArtifactEntry {
  const dumps = manifest.artifacts.filter((a) => a.role === "database");
  const artifact: ArtifactEntry | undefined = req.database ? dumps.find((a) => a.database === req.database) : dumps.length === 1 ? dumps[0] : undefined;
  if (!artifact) {
    throw new UsageError(
      req.database
        ? `backup ${manifest.id} holds no database "${req.database}" (it holds ${dumps.map((d) => d.database).join(", ")})`
        : `backup ${manifest.id} holds ${dumps.length} databases (${dumps.map((d) => d.database).join(", ")}): choose one with --database`,
    );
  }
  return artifact;
}

/** A dry run's word on owners: the dump's table of contents against what the role may set (globals may create roles: then not judged). */
async function dryRunOwners(run: ArtifactLoader, manifest: Manifest, server: PostgresJobConfig, req: RestoreRequest): Promise<void> {
  if (req.withGlobals) return;
  const fetched = run.fetch(dumpArtifact(manifest, req));
  try {
    const owners = await run.peek(fetched, (plain) => dumpOwners(plain, run.p.signal));
    const conn = await PgConnection.open(server.connection, server.password_file);
    try {
      const told = await judgeOwners(conn, owners, req.noOwner ?? false);
      if (told) run.p.outcome.warnings.push(told);
    } finally {
      await conn.close();
    }
  } finally {
    fetched.cancel(new Error("dry run: the rest is not needed"));
    await fetched.done.catch(() => undefined);
  }
}

interface DatabaseLoad {
  manifest: Extract<Manifest, { kind: "postgres" }>;
  artifact: ArtifactEntry;
  globals: ArtifactEntry | undefined;
  fetchedDump: Fetched;
  fetchedGlobals: Fetched | undefined;
  server: PostgresJobConfig;
  req: RestoreRequest;
}

/**
 * Loads into the named database when drd creates it. To replace an existing one (--clean),
 * it loads into a new database beside it and swaps the names only after every check passed:
 * a failure at any point leaves the old database as it was.
 */
async function loadDatabase(run: ArtifactLoader, d: DatabaseLoad): Promise<void> {
  const { outcome, signal, onProgress } = run.p;
  const db: DatabaseTarget = await prepareDatabase(d.server, d.req.toDb!, d.req.clean ?? false);
  onProgress?.({ phase: "restore", artifact: d.artifact.name, decrypting: run.p.decryptor !== undefined });
  try {
    let t = Date.now();
    if (d.fetchedGlobals) await run.load(d.fetchedGlobals, (plain) => restoreGlobals(db, plain, signal), { bytes: d.globals?.content_size, readHere: false });
    // After the globals, which may create the owners.
    const owners = await run.peek(d.fetchedDump, (plain) => dumpOwners(plain, signal));
    const told = await judgeOwners(db.conn, owners, d.req.noOwner ?? false);
    if (told) outcome.warnings.push(told);
    const loader = await openLoader(db, { noOwner: d.req.noOwner ?? false, noPrivileges: d.req.noPrivileges ?? false, jobs: d.req.jobs ?? 1 });
    let loaded: Map<string, number> | undefined;
    try {
      loaded = await run.load(d.fetchedDump, (plain) => loader.load(plain, signal), { bytes: d.artifact.content_size, readHere: false });
    } finally {
      await loader.close();
    }
    outcome.phases.restore = Date.now() - t;
    onProgress?.({ phase: "check", artifact: d.artifact.name });
    t = Date.now();
    const expected = d.manifest.postgres.databases.find((x) => x.name === d.artifact.database);
    const tables = expected ? await checkRowCounts(db, expected, loaded) : [];
    if (db.replaces) await swapDatabase(db);
    outcome.phases.check = Date.now() - t;
    outcome.checked = `${tables.length} table(s) have the row counts recorded at backup time`;
  } catch (err) {
    if (db.created) await dropDatabase(db).catch(() => undefined);
    throw err;
  } finally {
    await db.conn.close();
  }
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
