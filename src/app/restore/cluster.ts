import { appendFile, chown, copyFile, mkdir, readdir, readFile, rm, stat, statfs, writeFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import * as tar from "tar";
import { describeError, IntegrityError, OperationError, UsageError } from "../../errors.js";
import type { Manifest } from "../../manifest.js";
import { decompress } from "../../pipeline/compress.js";
import { DigestStream } from "../../pipeline/digest.js";
import { createDecryptor, type Decryptor } from "../../pipeline/decrypt.js";
import { historyName, parseHistory, parseHistoryName, timelineOfSegment, timelinePath, type HistoryEntry, type TimelineSpan } from "../../policy/timeline.js";
import { formatLsn, parseLsn, parseSegmentName, segmentName, segmentOf, type Lsn } from "../../policy/wal.js";
import { serverBin } from "../../sources/pg-bin.js";
import { ObjectNotFoundError, type Target } from "../../targets/target.js";
import { parsePartialName, walPrefix, walRecordSchema, type WalRecord } from "../../wal/layout.js";
import { jobOf, type AppContext } from "../context.js";
import { readBounded, readTargetManifests } from "../manifests.js";
import { fetchArtifact } from "./fetch.js";
import { makeStaging, removeDeadStaging } from "./staging.js";

/** Where a point-in-time restore replays to: a restore point is one `pg_create_restore_point` made. */
export type RecoveryTarget = { kind: "latest" } | { kind: "time"; at: number } | { kind: "lsn"; lsn: Lsn } | { kind: "name"; name: string };

export interface ClusterRestoreRequest {
  job: string;
  target: RecoveryTarget;
  /** The timeline to replay along (recovery_target_timeline); absent: the latest that descends from the base backup's. */
  timeline?: number;
  toDir: string;
  from?: string;
  keyFile?: string;
  passphraseFile?: string;
  /** Start the restored cluster on a scratch port, wait until recovery ends, report the point reached, stop it. */
  check?: boolean;
  /** Aborts the restore (Ctrl-C): what it wrote is removed. */
  signal: AbortSignal;
  /** Runs once the restored cluster (started as with `check`) ended recovery, before it is stopped: a drill's checks. */
  whileRunning?: (server: RunningCluster) => Promise<void>;
}

/** A restored cluster started on a scratch port, its socket in its data directory. */
export interface RunningCluster {
  dir: string;
  port: string;
  /** The role checks connect as: the cluster's bootstrap superuser. */
  role: string;
  /** libpq URL of a database on it. */
  url(database: string): string;
  /** One query through psql, as the data directory's owner: its output, or why it failed. */
  query(database: string, sql: string): Promise<{ ok: true; value: string } | { ok: false; error: string }>;
}

export interface ClusterRestoreOutcome {
  job: string;
  backup_id: string;
  from: string;
  to_dir: string;
  target: string;
  /** The timelines the replay follows, from the base backup's to the one it ends on (recovery_target_timeline). */
  timelines: number[];
  /** The WAL files put in pg_wal for the replay, first and last (the last may be a partial copy of the open segment). */
  wal: { first: string; last: string; count: number };
  /** With --check: the server's own word on where recovery stopped, and how long until it accepted connections. */
  checked: { reached: string | null; seconds: number } | null;
}

const RECORD_MAX_BYTES = 64 << 10;
/** WAL files fetched at once: each is small, and its own download, check and zstd. */
const CONCURRENT_WAL_FETCHES = 4;
const SIGNATURE_MAX_BYTES = 64 << 10;
/** How long --check waits for recovery to end and the server to accept connections. */
const CHECK_DEADLINE_S = 3600;

/** The text a target's kind takes in the outcome and in recovery settings. */
export function describeTarget(t: RecoveryTarget): string {
  switch (t.kind) {
    case "latest":
      return "latest";
    case "time":
      return new Date(t.at).toISOString();
    case "lsn":
      return `LSN ${formatLsn(t.lsn)}`;
    case "name":
      return `restore point ${t.name}`;
  }
}

/**
 * A restore point's name as --at takes it: a letter or _ first (a time or an LSN begins with
 * a digit), then letters, digits, _ . -; at most 63 bytes, as PostgreSQL keeps. Nothing that
 * needs quoting in postgresql.auto.conf.
 */
const RESTORE_POINT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;

/** `--at` for a cluster job: latest, an ISO 8601 time, an LSN (X/Y), or a restore point's name. */
export function parseRecoveryTarget(text: string | undefined): RecoveryTarget {
  if (text === undefined || text === "latest") return { kind: "latest" };
  if (/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(text)) return { kind: "lsn", lsn: parseLsn(text) };
  if (RESTORE_POINT_NAME.test(text)) return { kind: "name", name: text };
  const at = /^\d/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at))
    throw new UsageError(`--at: give latest, a time (2026-12-06T10:00:00Z), an LSN (0/3000028) or a restore point's name (letters, digits, _ . -), not ${JSON.stringify(text)}`);
  return { kind: "time", at };
}

/** `--timeline` for a cluster job: a timeline id in decimal, as PostgreSQL's recovery_target_timeline takes it. */
export function parseTimeline(text: string | undefined): number | undefined {
  if (text === undefined || text === "latest") return undefined;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 0xffffffff)) throw new UsageError(`--timeline: give a timeline id in decimal (1, 2, ...) or latest, not ${JSON.stringify(text)}`);
  return n;
}

/**
 * A cluster job restored to a point in time into a new data directory: the newest trusted
 * base backup that finished before the target, checked with pg_verifybackup, and every WAL
 * file the replay needs, each checked against its signed record, put in pg_wal before
 * PostgreSQL starts (a missing or damaged one is named now: PostgreSQL takes a failing
 * restore_command for the end of the archive and would stop early without saying so). The
 * recovery settings replay to the target and promote; archive_mode is off, so the restored
 * cluster never archives into the production archive. Works from a target alone (no catalog).
 */
export async function restoreCluster(ctx: AppContext, req: ClusterRestoreRequest): Promise<ClusterRestoreOutcome> {
  const job = jobOf(ctx, req.job);
  if (job.type !== "postgres_cluster") throw new UsageError(`${req.job} is a ${job.type} job, not a postgres_cluster job`);
  const from = req.from ?? job.targets.find((t) => ctx.config.targets[t]?.type === "local") ?? job.targets[0]!;
  if (!job.targets.includes(from)) throw new UsageError(`${req.job} is not stored on ${from} (its targets: ${job.targets.join(", ")})`);
  await assertNewDir(req.toDir);
  const target = ctx.targets.get(from);
  const { records } = await readTargetManifests(ctx, from, req.job);
  const bases = records.filter((r) => r.trust.trusted && r.manifest.kind === "postgres_cluster").map((r) => r.manifest as ClusterManifest);
  if (bases.length === 0) throw new OperationError(`no trusted base backup of ${req.job} on ${from}`);
  // Each decryptor is made once, when a file needs it: an unencrypted restore asks for no key.
  const decryptors = new Map<string, Promise<Decryptor>>();
  const decryptorFor = (info: NonNullable<ClusterManifest["encryption"]>) => {
    if (!decryptors.has(info.method)) decryptors.set(info.method, createDecryptor(info, { keyFile: req.keyFile, passphraseFile: req.passphraseFile }));
    return decryptors.get(info.method)!;
  };
  await removeDeadStaging(ctx.config.state_dir);
  const work = await makeStaging(ctx.config.state_dir);
  // What mkdir made (its first new directory; none when toDir existed), once it ran.
  let made: { first: string | undefined } | undefined;
  try {
    // Timelines first: which base backups can reach the wanted one, and the path from each.
    const wal = await readWal(ctx, target, req.job, from);
    const histories = await fetchHistories(target, req.job, wal.history, bases, decryptorFor, work, req.signal);
    const { base, path, needed } = replayable(chooseBases(bases, req.target, req.timeline, histories, req.job, from), wal, req.target);

    const sure = req.target.kind === "time" ? archivedBefore(needed, req.target.at) : needed;
    // For a time, what the replay reads past the files archived before it is known only once fetched: room for two more.
    await assertRoom(req.toDir, base, needed.slice(0, sure.length + (sure.length < needed.length ? 2 : 0)));
    const decryptor = base.encryption ? await decryptorFor(base.encryption) : undefined;
    made = { first: await mkdir(req.toDir, { recursive: true, mode: 0o700 }) };
    await extractBase(target, base, decryptor, work, req.toDir, req.signal);
    const verify = await execa(join(serverBin(), "pg_verifybackup"), ["--no-parse-wal", req.toDir], { reject: false });
    if (verify.exitCode !== 0) throw new IntegrityError(`pg_verifybackup refused the restored base backup ${base.id}: ${`${verify.stderr}`.trim().slice(-500)}`);
    const walDir = join(req.toDir, "pg_wal");
    const fetchOne = (file: NeededWal) => fetchWal(target, req.job, file, decryptor, work, walDir, req.signal);
    const { fetched, replayTo } = await fetchReplayWal(needed, sure, req.target, walDir, fetchOne, req.signal).catch(async (err: unknown) => {
      if (!(err instanceof PartialReplaced)) throw err;
      // The archiver stored a newer copy of the open segment (or the whole segment) and removed
      // the one planned: read the archive again; what replaced it reaches at least as far.
      const again = walNeeded(base, await readWal(ctx, target, req.job, from), req.target, path);
      return fetchReplayWal(again, req.target.kind === "time" ? archivedBefore(again, req.target.at) : again, req.target, walDir, fetchOne, req.signal);
    });
    if (req.target.kind === "name") await assertRestorePoint(walDir, fetched, base, req.target.name, req.job);
    // Every history file, not only the path's: at the promotion PostgreSQL takes the timeline
    // after the highest one it finds, so the restored cluster never reuses an archived one.
    await histories.copyTo(walDir, base.cluster.system_identifier);
    await writeMissingConfig(req.toDir);
    await writeRecoverySettings(req.toDir, base, req.job, req.target, replayTo, path.at(-1)!.timeline);
    await giveToOwner(req.toDir);
    const outcome: ClusterRestoreOutcome = {
      job: req.job,
      backup_id: base.id,
      from,
      to_dir: req.toDir,
      target: describeTarget(req.target),
      timelines: path.map((s) => s.timeline),
      wal: { first: fetched[0]!.segment, last: fetched.at(-1)!.record.name, count: fetched.length },
      checked: null,
    };
    if (req.check || req.whileRunning) outcome.checked = await checkRecovery(req.toDir, base.cluster.superuser, req.whileRunning);
    return outcome;
  } catch (err) {
    if (made?.first) await rm(made.first, { recursive: true, force: true });
    else if (made) await emptyDir(req.toDir);
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

type ClusterManifest = Extract<Manifest, { kind: "postgres_cluster" }>;

/**
 * The base backups that finished before the target (only from then on is the cluster
 * consistent) from which the wanted timeline (absent: the latest) is reached, newest first,
 * each with the path to it.
 */
function chooseBases(bases: ClusterManifest[], t: RecoveryTarget, timeline: number | undefined, histories: Histories, job: string, from: string): { base: ClusterManifest; path: TimelineSpan[] }[] {
  const reachable: { base: ClusterManifest; path: TimelineSpan[] }[] = [];
  const why: string[] = [];
  for (const base of bases) {
    const r = timelinePath({ timeline: base.cluster.timeline, end: parseLsn(base.cluster.end_lsn) }, timeline ?? "latest", histories.of(base.cluster.system_identifier));
    if (r.ok) reachable.push({ base, path: r.path });
    else why.push(r.reason);
  }
  if (reachable.length === 0) {
    const known = [...new Set(bases.flatMap((b) => [b.cluster.timeline, ...histories.of(b.cluster.system_identifier).keys()]))].sort((a, b) => a - b).join(", ");
    throw new UsageError(`--timeline ${timeline}: no base backup of ${job} on ${from} replays along it (${why[0]}); its timelines: ${known}`);
  }
  const finished = (b: ClusterManifest) => Date.parse(b.finished_at);
  const fits = reachable.filter(({ base: b }) => (t.kind === "time" ? finished(b) <= t.at : t.kind === "lsn" ? parseLsn(b.cluster.end_lsn) <= t.lsn : true));
  if (fits.length === 0) {
    const oldest = reachable.reduce((a, b) => (finished(a.base) < finished(b.base) ? a : b)).base;
    throw new UsageError(`${describeTarget(t)} is before the window of ${job} on ${from}: its oldest base backup, ${oldest.id}, was consistent at ${oldest.finished_at} (LSN ${oldest.cluster.end_lsn})`);
  }
  return fits.sort((a, b) => finished(b.base) - finished(a.base));
}

/**
 * The newest of `candidates` whose WAL to its consistency is archived, with the WAL its
 * replay needs: a base backup just taken, whose end has not reached the archive yet,
 * restores nothing yet, and the one before it reaches the same moment through the same WAL.
 */
function replayable(candidates: { base: ClusterManifest; path: TimelineSpan[] }[], wal: StoredWal, t: RecoveryTarget): { base: ClusterManifest; path: TimelineSpan[]; needed: NeededWal[] } {
  for (const [i, c] of candidates.entries()) {
    try {
      return { ...c, needed: walNeeded(c.base, wal, t, c.path) };
    } catch (err) {
      if (!(err instanceof NotYetConsistent) || i === candidates.length - 1) throw err;
    }
  }
  throw new Error("no candidate base backup");
}

/** The archive ends before the base backup's own end: not a gap, the WAL has not arrived yet. */
class NotYetConsistent extends IntegrityError {}

type Checked = WalRecord | { refused: string };

/** The job's WAL on a target: whole files by name, the partial copies of each open segment, and the history files by timeline. */
interface StoredWal {
  whole: Map<string, Checked>;
  partial: Map<string, { covered: number; checked: Checked }[]>;
  history: Map<number, Checked>;
}

/**
 * The job's WAL records on the target, each checked: bounded, well-formed, signed by a
 * trusted key. Whether one is of the base backup's cluster is checked where it is used.
 */
async function readWal(ctx: AppContext, target: Target, job: string, from: string): Promise<StoredWal> {
  const { TrustStore } = await import("../../trust/signing.js");
  const trust = await TrustStore.load(ctx.config);
  const objects = await target.list(walPrefix(job));
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  const wal: StoredWal = { whole: new Map(), partial: new Map(), history: new Map() };
  for (const o of objects) {
    const name = o.key.slice(walPrefix(job).length);
    if (!name.endsWith(".json")) continue;
    const fileName = name.slice(0, -".json".length);
    const partial = parsePartialName(fileName);
    const timeline = parseHistoryName(fileName);
    if (!partial && timeline === undefined && !/^[0-9A-F]{24}$/.test(fileName)) continue;
    let checked: Checked;
    try {
      checked = await checkRecord(trust, target, o.key, o.size, sizes, { job, from, fileName });
    } catch (err) {
      // The archiver replaces the open segment's partial copy every few seconds: one listed a
      // moment ago may be gone by now, replaced by one that reaches further. Skipped, not fatal.
      if (partial && err instanceof ObjectNotFoundError) continue;
      throw err;
    }
    if (timeline !== undefined) wal.history.set(timeline, checked);
    else if (!partial) wal.whole.set(fileName, checked);
    else wal.partial.set(partial.segment, [...(wal.partial.get(partial.segment) ?? []), { covered: partial.covered, checked }]);
  }
  return wal;
}

async function checkRecord(
  trust: Awaited<ReturnType<typeof import("../../trust/signing.js").TrustStore.load>>,
  target: Target,
  key: string,
  size: number,
  sizes: Map<string, number>,
  expect: { job: string; from: string; fileName: string },
): Promise<Checked> {
  const text = await readBounded(target, key, size, RECORD_MAX_BYTES);
  if (typeof text !== "string") return { refused: text.reason };
  const sigKey = `${key}.sig`;
  const sig = sizes.has(sigKey) ? await readBounded(target, sigKey, sizes.get(sigKey)!, SIGNATURE_MAX_BYTES) : undefined;
  const checked = await trust.check(text, typeof sig === "string" ? sig : undefined, { job: expect.job, target: expect.from, at: Date.now() });
  if (!checked.ok) return { refused: `its record is not trusted: ${checked.reason}` };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { refused: "its record is not JSON" };
  }
  const parsed = walRecordSchema.safeParse(data);
  if (!parsed.success || parsed.data.name !== expect.fileName || parsed.data.job !== expect.job) return { refused: "its record is not a WAL record of this job and file" };
  return parsed.data;
}

/** A checked record, refused unless it is of the cluster with `systemIdentifier`. */
function ofCluster(checked: Checked | undefined, systemIdentifier: string): Checked | undefined {
  if (checked === undefined || "refused" in checked || checked.system_identifier === systemIdentifier) return checked;
  return { refused: `it is from another cluster (system identifier ${checked.system_identifier}, not ${systemIdentifier})` };
}

/** The archived history files, read and checked, by the cluster they belong to. */
interface Histories {
  /** Timeline -> its ancestors, of the cluster with that system identifier. */
  of(systemIdentifier: string): ReadonlyMap<number, readonly HistoryEntry[]>;
  /** Puts the history files of that cluster into pg_wal. */
  copyTo(walDir: string, systemIdentifier: string): Promise<void>;
}

/**
 * Fetches every archived history file (each a few lines) into the work directory, each
 * checked against its signed record (size and sha256 of the content), and reads it. A refused
 * or unreadable one stops the restore, named: which timeline is the latest, and the path to
 * it, cannot be told without it.
 */
async function fetchHistories(
  target: Target,
  job: string,
  stored: Map<number, Checked>,
  bases: ClusterManifest[],
  decryptorFor: (info: NonNullable<ClusterManifest["encryption"]>) => Promise<Decryptor>,
  work: string,
  signal: AbortSignal,
): Promise<Histories> {
  const dir = join(work, "history");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const read = new Map<number, { record: WalRecord; entries: HistoryEntry[] }>();
  for (const [timeline, checked] of [...stored].sort((a, b) => a[0] - b[0])) {
    const name = historyName(timeline);
    if ("refused" in checked) throw new IntegrityError(`WAL file ${name} is refused: ${checked.refused}; the timelines a restore follows are read from it`);
    const encrypted = checked.encryption ? bases.find((b) => b.encryption?.method === checked.encryption)?.encryption : undefined;
    await fetchWal(target, job, { record: checked, segment: name }, encrypted ? await decryptorFor(encrypted) : undefined, work, dir, signal);
    try {
      read.set(timeline, { record: checked, entries: parseHistory(await readFile(join(dir, name), "utf8"), timeline) });
    } catch (err) {
      throw new IntegrityError(`WAL file ${name} is not a timeline history: ${describeError(err)}`);
    }
  }
  const ofCluster = (id: string) => [...read].filter(([, h]) => h.record.system_identifier === id);
  return {
    of: (id) => new Map(ofCluster(id).map(([tl, h]) => [tl, h.entries])),
    copyTo: async (walDir, id) => {
      for (const [tl] of ofCluster(id)) await copyFile(join(dir, historyName(tl)), join(walDir, historyName(tl)));
    },
  };
}

/** A WAL file the replay needs: its record, and the segment it goes into pg_wal as. */
export interface NeededWal {
  record: WalRecord;
  segment: string;
}

/**
 * The WAL files the replay needs, in order: from the base backup's start through its end
 * (it is consistent only there), then on: for an LSN, through the file that holds it; for a
 * time, latest or a restore point, the whole chain (which file holds the first commit after a time is known
 * only by reading the WAL; PostgreSQL stops at the target itself), ending with the newest
 * partial copy of the segment after the last whole one, if there is one; and a time must lie
 * before the newest file was archived. A file missing or refused before the end of the chain
 * stops the restore, named. Each segment is read from the newest timeline of `path` that
 * began in or before it, as PostgreSQL reads it.
 */
function walNeeded(base: ClusterManifest, wal: StoredWal, t: RecoveryTarget, path: readonly TimelineSpan[]): NeededWal[] {
  const size = base.cluster.wal_segment_size;
  const timeline = base.cluster.timeline;
  const cluster = base.cluster.system_identifier;
  const first = segmentOf(timeline, parseLsn(base.cluster.start_lsn), size).number;
  const end = parseLsn(base.cluster.end_lsn);
  const consistentAt = segmentOf(timeline, end === 0n ? 0n : end - 1n, size).number;
  const wanted = t.kind === "lsn" ? segmentOf(timeline, t.lsn, size).number : undefined;
  const onPath = (name: string) => {
    const s = parseSegmentName(name, size);
    return s !== undefined && s.timeline === timelineOfSegment(path, s.number, size) ? s.number : undefined;
  };
  const needed: NeededWal[] = [];
  for (let n = first; ; n++) {
    if (n > consistentAt && t.kind === "lsn" && n > wanted!) break;
    const name = segmentName({ timeline: timelineOfSegment(path, n, size), number: n }, size);
    const stored = ofCluster(wal.whole.get(name), cluster);
    if (stored !== undefined && !("refused" in stored)) {
      needed.push({ record: stored, segment: name });
      continue;
    }
    const what = n <= consistentAt ? `base backup ${base.id} needs it to be consistent` : `the replay to ${describeTarget(t)} needs it`;
    if (stored !== undefined) throw new IntegrityError(`WAL file ${name} is refused: ${stored.refused}; ${what}`);
    if ([...wal.whole.keys()].some((k) => (onPath(k) ?? -1n) > n)) throw new IntegrityError(`WAL file ${name} is not in the archive; ${what}`);
    // The end of the archive: where latest stops, and where a time must already lie (the
    // newest file was archived after it) or an LSN be reached.
    const newestCopy = wal.partial.get(name)?.reduce((a, b) => (b.covered > a.covered ? b : a));
    const copy = newestCopy && { covered: newestCopy.covered, checked: ofCluster(newestCopy.checked, cluster)! };
    if (copy && "refused" in copy.checked) throw new IntegrityError(`the partial copy of WAL file ${name} is refused: ${copy.checked.refused}; ${what}`);
    const reaches = BigInt(size) * n + BigInt(copy?.covered ?? 0);
    if (n <= consistentAt && reaches < end) throw new NotYetConsistent(`WAL file ${name} is not in the archive yet; ${what}`);
    if (copy) needed.push({ record: copy.checked as WalRecord, segment: name });
    const newest = needed.at(-1)!.record;
    if (t.kind === "latest" || t.kind === "name" || (t.kind === "time" && Date.parse(newest.stored_at) >= t.at) || (t.kind === "lsn" && t.lsn <= reaches)) break;
    throw new UsageError(`${describeTarget(t)} is past the end of the archive: its newest WAL file, ${newest.name}, was archived at ${newest.stored_at}`);
  }
  return needed;
}

async function extractBase(target: Target, base: Extract<Manifest, { kind: "postgres_cluster" }>, decryptor: Decryptor | undefined, work: string, toDir: string, signal: AbortSignal): Promise<void> {
  const artifact = base.artifacts.find((a) => a.role === "base");
  if (!artifact) throw new IntegrityError(`base backup ${base.id} lists no base artifact`);
  const fetched = fetchArtifact(target, `${base.job}/${base.id}/${artifact.name}`, artifact, work);
  const plain = await plainStream(fetched.open(), base.compression.algorithm, decryptor, signal);
  // node-tar refuses absolute paths and ".." and never follows a symlink out of toDir.
  await Promise.all([pipeline(plain.output, tar.x({ cwd: toDir, strict: true, preserveOwner: process.getuid?.() === 0 })), plain.done, fetched.done]);
}

/** A partial copy of the open segment that was removed after the restore listed it: a newer copy replaced it. */
class PartialReplaced extends OperationError {}

async function fetchWal(target: Target, job: string, file: NeededWal, decryptor: Decryptor | undefined, work: string, walDir: string, signal: AbortSignal): Promise<void> {
  try {
    await fetchWalFile(target, job, file, decryptor, work, walDir, signal);
  } catch (err) {
    if (parsePartialName(file.record.name) && err instanceof Error && err.cause instanceof ObjectNotFoundError) throw new PartialReplaced(err.message, { cause: err });
    throw err;
  }
}

async function fetchWalFile(target: Target, job: string, file: NeededWal, decryptor: Decryptor | undefined, work: string, walDir: string, signal: AbortSignal): Promise<void> {
  const record = file.record;
  // Checked against the signed record: the stored object's size and sha256.
  const fetched = fetchArtifact(target, `${walPrefix(job)}${record.object.name}`, record.object, work);
  const plain = await plainStream(fetched.open(), record.compression, record.encryption ? decryptor : undefined, signal);
  if (record.encryption && !decryptor) throw new UsageError(`WAL file ${record.name} is encrypted: give --key or --passphrase-file`);
  const digest = new DigestStream();
  const path = join(walDir, file.segment);
  try {
    await Promise.all([pipeline(plain.output, digest, createWriteStream(path, { mode: 0o600 })), plain.done, fetched.done]);
  } catch (err) {
    // A cut-short file in pg_wal would be read by the replay (a restore that goes on with
    // another copy of this segment, or without it): nothing of a failed fetch stays.
    await rm(path, { force: true });
    throw err;
  }
  await rm(join(work, record.object.name), { force: true });
  if (digest.bytes !== record.content.size || digest.hex() !== record.content.sha256)
    throw new IntegrityError(`WAL file ${record.name} restores to ${digest.bytes} bytes with sha256 ${digest.hex()}, not the ${record.content.size} and ${record.content.sha256} its record states`);
}

/**
 * Puts the WAL the replay reads into pg_wal: the files it surely reads (`sure`), several at
 * a time; for a time target then one at a time, until the file that holds the first
 * transaction that ended after the target, and the file after it (a record may continue
 * there): the replay stops there. The files fetched, in order.
 */
async function fetchReplayWal(
  needed: NeededWal[],
  sure: NeededWal[],
  t: RecoveryTarget,
  walDir: string,
  fetch: (file: NeededWal) => Promise<void>,
  signal: AbortSignal,
): Promise<{ fetched: NeededWal[]; replayTo: RecoveryTarget }> {
  await eachAtMost(CONCURRENT_WAL_FETCHES, sure, fetch, signal);
  const fetched = [...sure];
  if (t.kind !== "time") return { fetched, replayTo: t };
  let last = false;
  for (const file of needed.slice(sure.length)) {
    await fetch(file);
    fetched.push(file);
    if (last) break;
    last = await endsTransactionAfter(walDir, file.segment, t.at);
  }
  // No transaction in the archive ended after the time (a quiet server): the state at the time
  // is the archive's end, and PostgreSQL refuses a time target it never sees passed.
  return { fetched, replayTo: last ? t : { kind: "latest" } };
}

/**
 * A restore point is found only by reading the WAL: pg_waldump's XLOG records of the fetched
 * files (each run of one timeline read together, so a record across two files is read whole)
 * must hold a RESTORE_POINT of that name after the base backup's end, else PostgreSQL would
 * replay to the end and promote there without saying it never saw the point.
 */
async function assertRestorePoint(walDir: string, fetched: readonly NeededWal[], base: ClusterManifest, name: string, job: string): Promise<void> {
  const size = base.cluster.wal_segment_size;
  const runs: NeededWal[][] = [];
  for (const file of fetched) {
    const last = runs.at(-1)?.at(-1);
    const [a, b] = [last && parseSegmentName(last.segment, size), parseSegmentName(file.segment, size)!];
    if (a && a.timeline === b.timeline && a.number + 1n === b.number) runs.at(-1)!.push(file);
    else runs.push([file]);
  }
  const end = parseLsn(base.cluster.end_lsn);
  for (const run of runs) {
    const dump = await execa(join(serverBin(), "pg_waldump"), ["--rmgr=XLOG", "-p", walDir, run[0]!.segment, run.at(-1)!.segment], { reject: false, timeout: 600_000, stdin: "ignore" });
    // The last file may be a partial copy: pg_waldump says where its WAL ends, after the records before it.
    for (const m of `${dump.stdout}`.matchAll(/lsn: ([0-9A-F]+\/[0-9A-F]+), prev [^,]*, desc: RESTORE_POINT (.*)$/gm)) if (m[2] === name && parseLsn(m[1]!) >= end) return;
  }
  throw new UsageError(`restore point ${name} is not in the WAL of ${job} after base backup ${base.id} (consistent at LSN ${base.cluster.end_lsn}, through ${fetched.at(-1)!.record.name})`);
}

/** The leading files of the chain archived before `at`: the replay to `at` reads them all. */
export function archivedBefore(needed: readonly NeededWal[], at: number): NeededWal[] {
  const first = needed.findIndex((f) => Date.parse(f.record.stored_at) >= at);
  return first === -1 ? [...needed] : needed.slice(0, first);
}

/** Runs `task` over `items`, at most `limit` at a time; after a failure, starts no more and rejects once those running ended. */
async function eachAtMost<T>(limit: number, items: readonly T[], task: (item: T) => Promise<void>, signal: AbortSignal): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        signal.throwIfAborted();
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/**
 * Whether a WAL file holds the end (commit or abort) of a transaction after `at`, as
 * pg_waldump reads it: PostgreSQL's replay to `at` stops there. Unreadable: taken as no, so
 * the next file is fetched too.
 */
async function endsTransactionAfter(walDir: string, segment: string, at: number): Promise<boolean> {
  const dump = await execa(join(serverBin(), "pg_waldump"), ["--rmgr=Transaction", "-p", walDir, segment, segment], { reject: false, env: { TZ: "UTC" }, timeout: 60_000, stdin: "ignore" });
  for (const m of `${dump.stdout}`.matchAll(/desc: (?:COMMIT|ABORT)(?:_PREPARED)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/g))
    if (Date.parse(`${m[1]!.replace(" ", "T")}Z`) > at) return true;
  return false;
}

async function plainStream(stored: Readable, algorithm: WalRecord["compression"], decryptor: Decryptor | undefined, signal: AbortSignal) {
  return decompress(algorithm, decryptor ? await decryptor.decrypt(stored) : stored, signal);
}

/** The configuration files a data directory needs to start, which some distributions (Debian's /etc/postgresql) keep outside it. */
const CONFIG_FILES: Record<string, string[]> = {
  "postgresql.conf": [
    "# Written by drctl restore: the backed-up cluster kept its configuration outside its data",
    "# directory, so the backup has none. The server's defaults, local connections only; copy",
    "# the settings you need from the original server's configuration.",
    "listen_addresses = 'localhost'",
  ],
  "pg_hba.conf": [
    "# Written by drctl restore (the backup has no pg_hba.conf): local connections only.",
    "local all all peer",
    "host all all 127.0.0.1/32 scram-sha-256",
    "host all all ::1/128 scram-sha-256",
  ],
  "pg_ident.conf": ["# Written by drctl restore (the backup has no pg_ident.conf)."],
};

async function writeMissingConfig(dir: string): Promise<void> {
  for (const [name, lines] of Object.entries(CONFIG_FILES))
    await writeFile(join(dir, name), `${lines.join("\n")}\n`, { flag: "wx", mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
}

/** The recovery_target_* setting of a target: none for latest. A name never needs quoting (RESTORE_POINT_NAME). */
function recoveryTargetSetting(t: RecoveryTarget): string[] {
  switch (t.kind) {
    case "latest":
      return [];
    case "time":
      return [`recovery_target_time = '${new Date(t.at).toISOString().replace("T", " ").replace("Z", "+00")}'`];
    case "lsn":
      return [`recovery_target_lsn = '${formatLsn(t.lsn)}'`];
    case "name":
      return [`recovery_target_name = '${t.name}'`];
  }
}

/** recovery.signal and the settings that replay to the target along `timeline`, then promote. */
async function writeRecoverySettings(dir: string, base: Manifest, job: string, asked: RecoveryTarget, replayTo: RecoveryTarget, timeline: number): Promise<void> {
  await appendFile(
    join(dir, "postgresql.auto.conf"),
    [
      "",
      `# drctl restore ${job}: base backup ${base.id}, replayed to ${describeTarget(asked)}.`,
      ...(replayTo !== asked ? [`# No transaction in the archive ended after ${describeTarget(asked)}: its end is the state then.`] : []),
      "# Every WAL file the replay needs is in pg_wal already, checked against its signed record.",
      "restore_command = 'false'",
      "# A restored cluster never archives into the production archive.",
      "archive_mode = 'off'",
      // The timeline the WAL in pg_wal was chosen for, by number: never PostgreSQL's own idea of the latest.
      `recovery_target_timeline = '${timeline}'`,
      ...recoveryTargetSetting(replayTo),
      "recovery_target_action = 'promote'",
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "recovery.signal"), "");
}

/** As root, the files drd wrote go to the data directory's owner (from the backup), as PostgreSQL runs as that user. */
async function giveToOwner(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await stat(join(dir, "PG_VERSION"));
  const written = [...Object.keys(CONFIG_FILES), "postgresql.auto.conf", "recovery.signal"].map((n) => join(dir, n));
  for (const path of [dir, ...written, join(dir, "pg_wal"), ...(await readdir(join(dir, "pg_wal"))).map((n) => join(dir, "pg_wal", n))])
    await chown(path, uid, gid);
}

/** Runs a command as the owner of `dir`: root hands PostgreSQL's programs to that user with setpriv (util-linux). */
async function ownerRunner(dir: string) {
  const { uid, gid } = await stat(dir);
  return {
    uid,
    gid,
    run: (cmd: string, args: string[], timeout: number) =>
      process.getuid?.() === 0 && uid !== 0
        ? execa("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", cmd, ...args], { reject: false, timeout })
        : execa(cmd, args, { reject: false, timeout }),
  };
}

/** Stops a cluster running in `dir` at once, if one does (a scratch cluster an interrupted drill left). */
export async function stopCluster(dir: string): Promise<void> {
  const owner = await ownerRunner(dir).catch(() => undefined);
  await owner?.run(join(serverBin(), "pg_ctl"), ["-D", dir, "-m", "immediate", "-w", "stop"], 120_000);
}

/** --check: start the restored cluster on a scratch port (no TCP), wait for recovery to end, read where it stopped, stop it. */
/** The server log's reason: its FATAL and PANIC lines (the shutdown lines after them say nothing), else its last lines. */
function whyNotStarted(log: string): string {
  const lines = log.split("\n");
  const fatal = lines.filter((l) => /\b(FATAL|PANIC):/.test(l));
  return (fatal.length > 0 ? fatal.slice(-3) : lines.slice(-5)).join(" | ");
}

async function checkRecovery(dir: string, superuser: string | undefined, whileRunning?: (server: RunningCluster) => Promise<void>): Promise<{ reached: string | null; seconds: number }> {
  const bin = serverBin();
  // PostgreSQL runs as its data directory's owner.
  const { uid, gid, run: asOwner } = await ownerRunner(dir);
  const log = join(dir, "drd-check.log");
  // Whatever the cluster's own pg_hba.conf says: its superuser over the socket, which lies in
  // the data directory (0700), so only the owner (or root) reaches it.
  const hba = join(dir, "drd-check-hba.conf");
  await writeFile(hba, "local all all trust\n", { mode: 0o600 });
  if (process.getuid?.() === 0) await chown(hba, uid, gid);
  const roleArgs = superuser ? ["-U", superuser] : [];
  const started = Date.now();
  const port = String(50_000 + Math.floor(Math.random() * 10_000));
  const start = await asOwner(join(bin, "pg_ctl"), ["-D", dir, "-w", "-t", String(CHECK_DEADLINE_S), "-l", log, "-o", `-p ${port} -c listen_addresses='' -k ${dir} -c hba_file=${hba}`, "start"], (CHECK_DEADLINE_S + 30) * 1000);
  const readLog = () => readFile(log, "utf8").catch(() => "");
  try {
    if (start.exitCode !== 0) throw new OperationError(`the restored cluster did not start: ${whyNotStarted((await readLog()).trim() || `${start.stderr}`.trim())}`);
    // pg_ctl returns once the server takes (read-only) connections, which a hot standby does
    // while it still replays: recovery has ended once it is out of recovery (promoted).
    const deadline = started + CHECK_DEADLINE_S * 1000;
    for (;;) {
      const q = await asOwner("psql", ["-XAtq", "-h", dir, "-p", port, ...roleArgs, "-d", "postgres", "-c", "SELECT pg_is_in_recovery()"], 30_000);
      if (q.exitCode === 0 && `${q.stdout}`.trim() === "f") break;
      if (Date.now() > deadline) throw new OperationError(`the restored cluster was still recovering after ${CHECK_DEADLINE_S} s`);
      if (/FATAL|PANIC/.test(await readLog())) throw new OperationError(`the restored cluster failed in recovery: ${(await readLog()).trim().split("\n").slice(-5).join(" | ")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (Date.now() - started) / 1000;
    const reached = /(?:recovery stopping (?:before|after) commit of transaction \d+, time|last completed transaction was at log time) (.+)$/m.exec(await readLog())?.[1]?.trim() ?? null;
    const role = superuser ?? "postgres";
    await whileRunning?.({
      dir,
      port,
      role,
      url: (database) => `postgresql://${encodeURIComponent(role)}@/${encodeURIComponent(database)}?host=${encodeURIComponent(dir)}&port=${port}`,
      query: async (database, sql) => {
        const q = await asOwner("psql", ["-XAtq", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", port, "-U", role, "-d", database, "-c", sql], 600_000);
        return q.exitCode === 0 ? { ok: true, value: `${q.stdout}`.trim() } : { ok: false, error: `${q.stderr}`.trim().slice(-300) || `psql exited ${q.exitCode}` };
      },
    });
    return { reached, seconds };
  } finally {
    await asOwner(join(bin, "pg_ctl"), ["-D", dir, "-m", "fast", "-w", "stop"], 120_000);
    await rm(hba, { force: true });
  }
}

/**
 * Every WAL file goes into pg_wal before PostgreSQL starts: the data directory's disk must
 * hold the cluster and all of them. Told now, not when the disk fills halfway.
 */
async function assertRoom(dir: string, base: Extract<Manifest, { kind: "postgres_cluster" }>, needed: NeededWal[]): Promise<void> {
  const cluster = base.artifacts.find((a) => a.role === "base");
  const wal = needed.reduce((sum, f) => sum + f.record.content.size, 0);
  const need = (cluster?.content_size ?? cluster?.size ?? 0) + wal;
  let existing = dir;
  while (!(await stat(existing).catch(() => undefined))) existing = dirname(existing);
  const fs = await statfs(existing);
  const free = fs.bavail * fs.bsize;
  if (free < need)
    throw new OperationError(`${dir} has ${mib(free)} MiB free; this restore needs ${mib(need)} MiB (the cluster, ${mib(need - wal)} MiB, and ${needed.length} WAL files, ${mib(wal)} MiB)`);
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(0);
}

async function assertNewDir(dir: string): Promise<void> {
  if (!dir.startsWith("/")) throw new UsageError(`--to-dir must be an absolute path, not ${dir}`);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? [] : Promise.reject(err)));
  if (entries.length > 0) throw new UsageError(`${dir} is not empty: a cluster is restored into a new or empty directory`);
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, name), { recursive: true, force: true });
}
