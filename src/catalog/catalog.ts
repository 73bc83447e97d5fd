import type Database from "better-sqlite3";
import type { AuditAnchor } from "../audit/trail.js";
import { IntegrityError } from "../errors.js";
import { manifestFrom, type BackupKind, type Manifest } from "../manifest.js";
import type { OpenProblem } from "../policy/problems.js";
import { openDatabase } from "./open.js";

export type RunState = "running" | "succeeded" | "failed" | "interrupted";
export type CopyState = "pending" | "written" | "verified" | "corrupt" | "missing" | "deleted";

export interface RunRow {
  id: number;
  job: string;
  backup_id: string;
  trigger: "manual" | "schedule";
  pid: number;
  boot_id: string | null;
  started_at: number;
  finished_at: number | null;
  state: RunState;
  error: string | null;
  /** 1 while objects of the interrupted run may still lie on a target that could not be reached. */
  cleanup_pending: number;
}

export interface CopyRow {
  backup_id: string;
  target: string;
  location: string;
  state: CopyState;
  written_at: number | null;
  verified_at: number | null;
  error: string | null;
  attempts: number;
  next_attempt_at: number | null;
  /** JSON object: object name -> the version the store gave it (versioned S3 buckets); null elsewhere. */
  versions?: string | null;
}

export interface BackupRow {
  id: string;
  job: string;
  kind: BackupKind;
  run_id: number | null;
  snapshot_at: number;
  finished_at: number;
  size: number;
  sha256: string;
  encryption: string | null;
  manifest: string;
  /** Armored detached signature of `manifest`; null for backups made without `signing`. */
  signature: string | null;
  /** Why no trusted key vouches for it, when a rebuild admitted it with --allow-unsigned; else null. */
  untrusted?: string | null;
}

export interface DrillRow {
  id: number;
  job: string;
  backup_id: string | null;
  target: string | null;
  started_at: number;
  finished_at: number | null;
  ok: number | null;
  phases: string | null;
  details: string | null;
  error: string | null;
  pid: number | null;
  boot_id: string | null;
}

export interface WalPartialRow {
  job: string;
  target: string;
  /** `<segment>.<covered>.partial`: see wal/layout.ts. */
  name: string;
  /** The stored object's name beside its record. */
  object: string;
  stored_at: number;
}

export interface WalSegmentRow {
  job: string;
  /** The segment's file name (or a timeline's .history file). */
  name: string;
  target: string;
  /** The stored object: compressed, maybe encrypted. */
  size: number;
  sha256: string;
  stored_at: number;
}

export interface EventRow {
  at: number;
  kind: string;
  job: string | null;
  backup_id: string | null;
  target: string | null;
  detail: string | null;
}

export interface BackupWithCopies extends BackupRow {
  copies: CopyRow[];
}

export interface FinishedDrill {
  id: number;
  started_at: number;
  finished_at: number;
  ok: number;
  phases: string | null;
  target: string | null;
  error: string | null;
}

/** The SQLite catalog: runs, backups, their copies per target, and events. */
export class Catalog {
  private constructor(readonly db: Database.Database) {}

  static open(stateDir: string): Catalog {
    return new Catalog(openDatabase(stateDir));
  }

  close(): void {
    this.db.close();
  }

  /**
   * Records a new running run, unless the job already has one whose process is alive.
   * The check and the insert share one write transaction so two starts cannot both win.
   */
  startRun(
    run: Pick<RunRow, "job" | "backup_id" | "trigger" | "pid" | "boot_id" | "started_at">,
    isAlive: (run: RunRow) => boolean,
  ): { started: RunRow } | { busy: RunRow } {
    return this.db
      .transaction(() => {
        const running = this.db
          .prepare<[string], RunRow>(`SELECT * FROM runs WHERE state = 'running' AND job = ?`)
          .all(run.job)
          .find((r) => isAlive(r));
        if (running) return { busy: running };
        const info = this.db
          .prepare(
            `INSERT INTO runs (job, backup_id, trigger, pid, boot_id, started_at, state) VALUES (@job, @backup_id, @trigger, @pid, @boot_id, @started_at, 'running')`,
          )
          .run(run);
        return { started: this.getRun(Number(info.lastInsertRowid))! };
      })
      .immediate();
  }

  getRun(id: number): RunRow | undefined {
    return this.db.prepare<[number], RunRow>(`SELECT * FROM runs WHERE id = ?`).get(id);
  }

  runningRuns(): RunRow[] {
    return this.db.prepare<[], RunRow>(`SELECT * FROM runs WHERE state = 'running' ORDER BY id`).all();
  }

  /** Interrupted runs whose objects could not all be removed yet. */
  runsAwaitingCleanup(): RunRow[] {
    return this.db.prepare<[], RunRow>(`SELECT * FROM runs WHERE cleanup_pending = 1 ORDER BY id`).all();
  }

  setCleanupPending(id: number, pending: boolean): void {
    this.db.prepare(`UPDATE runs SET cleanup_pending = ? WHERE id = ?`).run(pending ? 1 : 0, id);
  }

  lastRuns(job: string, limit = 10): RunRow[] {
    return this.db
      .prepare<[string, number], RunRow>(`SELECT * FROM runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?`)
      .all(job, limit);
  }

  finishRun(id: number, state: Exclude<RunState, "running">, at: number, error?: string): void {
    this.db.prepare(`UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ?`).run(state, at, error ?? null, id);
  }

  /**
   * Registers a complete backup and its copies in one transaction; with `finishedRun`, the
   * run that made it is marked succeeded in the same one (a backup recorded is never left
   * with a run that failed to say so).
   */
  recordBackup(backup: BackupRow, copies: CopyRow[], finishedRun?: { id: number; at: number }): void {
    this.db
      .transaction(() => {
        if (finishedRun) this.finishRun(finishedRun.id, "succeeded", finishedRun.at);
        this.db
          .prepare(
            `INSERT INTO backups (id, job, kind, run_id, snapshot_at, finished_at, size, sha256, encryption, manifest, signature, untrusted)
             VALUES (@id, @job, @kind, @run_id, @snapshot_at, @finished_at, @size, @sha256, @encryption, @manifest, @signature, @untrusted)`,
          )
          .run({ untrusted: null, ...backup });
        const insert = this.db.prepare(
          `INSERT INTO copies (backup_id, target, location, state, written_at, verified_at, error, attempts, next_attempt_at)
           VALUES (@backup_id, @target, @location, @state, @written_at, @verified_at, @error, @attempts, @next_attempt_at)`,
        );
        for (const copy of copies) insert.run(copy);
      })
      .immediate();
  }

  startDrill(job: string, at: number, pid: number, bootId: string): number {
    return Number(this.db.prepare(`INSERT INTO drills (job, started_at, pid, boot_id) VALUES (?, ?, ?, ?)`).run(job, at, pid, bootId).lastInsertRowid);
  }

  unfinishedDrills(job: string): DrillRow[] {
    return this.db.prepare<[string], DrillRow>(`SELECT * FROM drills WHERE job = ? AND finished_at IS NULL ORDER BY id`).all(job);
  }

  finishDrill(id: number, result: Omit<DrillRow, "id" | "job" | "started_at" | "pid" | "boot_id">): void {
    this.db
      .prepare(`UPDATE drills SET backup_id = @backup_id, target = @target, finished_at = @finished_at, ok = @ok, phases = @phases, details = @details, error = @error WHERE id = @id`)
      .run({ ...result, id });
  }

  lastDrills(job: string, limit = 10): DrillRow[] {
    return this.db.prepare<[string, number], DrillRow>(`SELECT * FROM drills WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?`).all(job, limit);
  }

  addCopy(copy: CopyRow): void {
    this.db
      .prepare(
        `INSERT INTO copies (backup_id, target, location, state, written_at, verified_at, error, attempts, next_attempt_at)
         VALUES (@backup_id, @target, @location, @state, @written_at, @verified_at, @error, @attempts, @next_attempt_at)`,
      )
      .run(copy);
  }

  updateCopy(backupId: string, target: string, change: Partial<Omit<CopyRow, "backup_id" | "target">>): void {
    const sets = Object.keys(change).map((k) => `${k} = @${k}`);
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE copies SET ${sets.join(", ")} WHERE backup_id = @backup_id AND target = @target`)
      .run({ ...change, backup_id: backupId, target });
  }

  /** Every pending copy on `target` becomes due now: the target answered again. Returns how many. */
  makePendingDue(target: string): number {
    return this.db.prepare(`UPDATE copies SET next_attempt_at = NULL WHERE target = ? AND state = 'pending' AND next_attempt_at IS NOT NULL`).run(target).changes;
  }

  getBackup(id: string): BackupWithCopies | undefined {
    const row = this.db.prepare<[string], BackupRow>(`SELECT * FROM backups WHERE id = ?`).get(id);
    return row && { ...row, copies: this.copiesOf(row.id) };
  }

  /** Snapshot time of the job's newest backup not dated after `notAfter`, if any (one index lookup). */
  lastSnapshotAt(job: string, notAfter = Number.MAX_SAFE_INTEGER): number | undefined {
    return this.db.prepare<[string, number], { at: number | null }>(`SELECT max(snapshot_at) AS at FROM backups WHERE job = ? AND snapshot_at <= ? AND untrusted IS NULL`).get(job, notAfter)?.at ?? undefined;
  }

  /** The job's backups dated after `after` (ahead of the clock), newest first. */
  backupsDatedAfter(job: string, after: number): { id: string; snapshot_at: number }[] {
    return this.db.prepare<[string, number], { id: string; snapshot_at: number }>(`SELECT id, snapshot_at FROM backups WHERE job = ? AND snapshot_at > ? AND untrusted IS NULL ORDER BY snapshot_at DESC, id DESC`).all(job, after);
  }

  /** Whether an event of `kind` was recorded for the backup. */
  hasEvent(kind: string, backupId: string): boolean {
    return this.db.prepare<[string, string], { n: number }>(`SELECT count(*) AS n FROM events WHERE kind = ? AND backup_id = ?`).get(kind, backupId)!.n > 0;
  }

  /** The id and manifest of the job's newest backup, if any. */
  newestBackup(job: string): { id: string; manifest: string } | undefined {
    return this.db.prepare<[string], { id: string; manifest: string }>(`SELECT id, manifest FROM backups WHERE job = ? AND untrusted IS NULL ORDER BY snapshot_at DESC, id DESC LIMIT 1`).get(job);
  }

  /** The manifests of the newest backup each job made on this machine (not those a catalog rebuild added). */
  newestOwnManifests(): { id: string; manifest: string }[] {
    return this.db
      .prepare<[], { id: string; manifest: string }>(
        `SELECT id, manifest FROM backups b WHERE run_id IS NOT NULL AND snapshot_at = (SELECT max(snapshot_at) FROM backups WHERE job = b.job AND run_id IS NOT NULL)`,
      )
      .all();
  }

  /**
   * The job's backups as this catalog knows them on `target`, newest first: each with the
   * backup before it (its manifest's previous_id) and its copy's state there. Trusted only.
   */
  chainOn(job: string, target: string): { id: string; previous_id: string | null; state: CopyState }[] {
    return this.db
      .prepare<[string, string], { id: string; previous_id: string | null; state: CopyState }>(
        `SELECT b.id, json_extract(b.manifest, '$.previous_id') AS previous_id, c.state
           FROM backups b JOIN copies c ON c.backup_id = b.id AND c.target = ?
          WHERE b.job = ? AND b.untrusted IS NULL ORDER BY b.snapshot_at DESC, b.id DESC`,
      )
      .all(target, job);
  }

  /** The next sequence number of the job's head, recorded as written. */
  nextHeadSequence(job: string): number {
    return this.db
      .prepare<[string], { sequence: number }>(`INSERT INTO job_heads (job, sequence) VALUES (?, 1) ON CONFLICT (job) DO UPDATE SET sequence = sequence + 1 RETURNING sequence`)
      .get(job)!.sequence;
  }

  /** The sequence number of the job's newest head written, if any. */
  headSequence(job: string): number | undefined {
    return this.db.prepare<[string], { sequence: number }>(`SELECT sequence FROM job_heads WHERE job = ?`).get(job)?.sequence;
  }

  /** The ids of the job's backups admitted without a trusted signature, newest first. */
  untrustedBackups(job: string): string[] {
    return this.db.prepare<[string], { id: string }>(`SELECT id FROM backups WHERE job = ? AND untrusted IS NOT NULL ORDER BY snapshot_at DESC, id DESC`).all(job).map((r) => r.id);
  }

  /** Newest first. */
  listBackups(filter: { job?: string } = {}): BackupWithCopies[] {
    const rows = filter.job
      ? this.db.prepare<[string], BackupRow>(`SELECT * FROM backups WHERE job = ? ORDER BY snapshot_at DESC, id DESC`).all(filter.job)
      : this.db.prepare<[], BackupRow>(`SELECT * FROM backups ORDER BY snapshot_at DESC, id DESC`).all();
    const copies = new Map<string, CopyRow[]>();
    for (const c of this.db.prepare<[], CopyRow>(`SELECT * FROM copies ORDER BY target`).all()) {
      const list = copies.get(c.backup_id) ?? [];
      list.push(c);
      copies.set(c.backup_id, list);
    }
    return rows.map((r) => ({ ...r, copies: copies.get(r.id) ?? [] }));
  }

  /** Pending copies due for an attempt at `now` (all pending ones when `now` is undefined). */
  pendingCopies(filter: { job?: string; now?: number; backupId?: string } = {}): (CopyRow & { job: string })[] {
    return this.db
      .prepare<{ job: string | null; now: number | null; backup_id: string | null }, CopyRow & { job: string }>(
        `SELECT c.*, b.job FROM copies c JOIN backups b ON b.id = c.backup_id
          WHERE c.state = 'pending'
            AND (@job IS NULL OR b.job = @job)
            AND (@backup_id IS NULL OR c.backup_id = @backup_id)
            AND (@now IS NULL OR c.next_attempt_at IS NULL OR c.next_attempt_at <= @now)
          ORDER BY b.snapshot_at DESC`,
      )
      .all({ job: filter.job ?? null, now: filter.now ?? null, backup_id: filter.backupId ?? null });
  }

  /** What retention needs, without manifests: every backup of a job with its copies' states. */
  retentionView(job: string): { id: string; snapshot_at: number; copies: Pick<CopyRow, "target" | "state" | "written_at">[] }[] {
    // Rows as arrays: no object per row, which matters at 100,000 backups.
    const rows = this.db
      .prepare<[string], [string, number, string | null, CopyState | null, number | null]>(
        `SELECT b.id, b.snapshot_at, c.target, c.state, c.written_at
           FROM backups b LEFT JOIN copies c ON c.backup_id = b.id
          WHERE b.job = ? AND b.untrusted IS NULL ORDER BY b.snapshot_at DESC, b.id DESC`,
      )
      .raw(true)
      .all(job);
    const out: { id: string; snapshot_at: number; copies: Pick<CopyRow, "target" | "state" | "written_at">[] }[] = [];
    for (const [id, snapshotAt, target, state, writtenAt] of rows) {
      // Rows of one backup are adjacent (ordered by snapshot, then id).
      let b = out[out.length - 1];
      if (!b || b.id !== id) out.push((b = { id, snapshot_at: snapshotAt, copies: [] }));
      if (target && state) b.copies.push({ target, state, written_at: writtenAt });
    }
    return out;
  }

  /** Artifact names of some backups, for deleting their objects. */
  artifactNames(ids: string[]): Map<string, { job: string; names: string[] }> {
    const out = new Map<string, { job: string; names: string[] }>();
    const stmt = this.db.prepare<[string], { id: string; job: string; manifest: string }>(`SELECT id, job, manifest FROM backups WHERE id = ?`);
    for (const id of ids) {
      const row = stmt.get(id);
      if (row) out.set(id, { job: row.job, names: (JSON.parse(row.manifest) as Manifest).artifacts.map((a) => a.name) });
    }
    return out;
  }

  /**
   * Marks copies deleted and drops backups left with no copy, in one short transaction
   * per call: callers pass bounded chunks so pruning never holds the catalog for long.
   */
  markCopiesDeleted(target: string, ids: string[]): number {
    return this.db
      .transaction(() => {
        const mark = this.db.prepare(`UPDATE copies SET state = 'deleted', error = NULL, next_attempt_at = NULL WHERE backup_id = ? AND target = ?`);
        const drop = this.db.prepare(
          `DELETE FROM backups WHERE id = ? AND NOT EXISTS (SELECT 1 FROM copies WHERE backup_id = ? AND state <> 'deleted')`,
        );
        let dropped = 0;
        for (const id of ids) {
          mark.run(id, target);
          dropped += drop.run(id, id).changes;
        }
        return dropped;
      })
      .immediate();
  }

  /** Copies by job, target and state with their bytes (kept by triggers; see the migration). */
  copyTotals(): { job: string; target: string; state: string; count: number; bytes: number }[] {
    return this.db.prepare<[], { job: string; target: string; state: string; count: number; bytes: number }>(`SELECT job, target, state, count, bytes FROM copy_totals ORDER BY 1, 2, 3`).all();
  }

  copiesOf(backupId: string): CopyRow[] {
    return this.db.prepare<[string], CopyRow>(`SELECT * FROM copies WHERE backup_id = ? ORDER BY target`).all(backupId);
  }

  /** The newest `limit` events at or after `since` (of one job, if given), oldest first. */
  events(filter: { job?: string; since: number; limit: number }): EventRow[] {
    return this.db
      .prepare<{ job: string | null; since: number; limit: number }, EventRow>(
        `SELECT at, kind, job, backup_id, target, detail FROM (
           SELECT * FROM events WHERE at >= @since AND (@job IS NULL OR job = @job) ORDER BY at DESC, id DESC LIMIT @limit
         ) ORDER BY at, id`,
      )
      .all({ job: filter.job ?? null, since: filter.since, limit: filter.limit });
  }

  /** When the job was first tried, if ever. */
  firstRunAt(job: string): number | undefined {
    return this.db.prepare<[string], { at: number | null }>(`SELECT min(started_at) AS at FROM runs WHERE job = ?`).get(job)?.at ?? undefined;
  }

  /** Runs of the job by outcome. */
  runCounts(job: string): Record<string, number> {
    return Object.fromEntries(this.db.prepare<[string], { state: string; n: number }>(`SELECT state, count(*) AS n FROM runs WHERE job = ? GROUP BY state`).all(job).map((r) => [r.state, r.n]));
  }

  /** How long the job's newest successful run took (ms), if any. */
  lastSuccessfulRunMs(job: string): number | undefined {
    return this.db.prepare<[string], { ms: number }>(`SELECT finished_at - started_at AS ms FROM runs WHERE job = ? AND state = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1`).get(job)?.ms;
  }

  /** The job's newest backup (by snapshot time), if any. */
  newestBackupOf(job: string): { id: string; size: number } | undefined {
    return this.db.prepare<[string], { id: string; size: number }>(`SELECT id, size FROM backups WHERE job = ? AND untrusted IS NULL ORDER BY snapshot_at DESC, id DESC LIMIT 1`).get(job);
  }

  /** The job's newest `limit` backups dated at or before `notAfter`, newest first, each with its copies' states, read one at a time. */
  *newestBackupsWithStates(job: string, notAfter: number, limit: number): Generator<{ id: string; snapshot_at: number; copies: Pick<CopyRow, "target" | "state">[] }> {
    const copies = this.db.prepare<[string], Pick<CopyRow, "target" | "state">>(`SELECT target, state FROM copies WHERE backup_id = ?`);
    const rows = this.db.prepare<[string, number, number], { id: string; snapshot_at: number }>(`SELECT id, snapshot_at FROM backups WHERE job = ? AND snapshot_at <= ? AND untrusted IS NULL ORDER BY snapshot_at DESC, id DESC LIMIT ?`).iterate(job, notAfter, limit);
    for (const row of rows) yield { ...row, copies: copies.all(row.id) };
  }

  /** The job's finished drills, newest first. */
  finishedDrills(job: string, limit: number): FinishedDrill[] {
    return this.db
      .prepare<[string, number], FinishedDrill>(`SELECT id, started_at, finished_at, ok, phases, target, error FROM drills WHERE job = ? AND finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT ?`)
      .all(job, limit);
  }

  /** Drills of the job that finished at or after `since`, oldest first. */
  drillsFinishedSince(job: string, since: number): FinishedDrill[] {
    return this.db
      .prepare<[string, number], FinishedDrill>(`SELECT id, started_at, finished_at, ok, phases, target, error FROM drills WHERE job = ? AND finished_at >= ? ORDER BY finished_at, id`)
      .all(job, since);
  }

  /** Drills of the job that finished after `after`: whether each passed and how long it took. */
  drillsFinishedAfter(job: string, after: number): { ok: number; ms: number }[] {
    return this.db.prepare<[string, number], { ok: number; ms: number }>(`SELECT ok, finished_at - started_at AS ms FROM drills WHERE job = ? AND finished_at IS NOT NULL AND finished_at > ?`).all(job, after);
  }

  /** The job's open run of failed backups, if any. */
  openProblem(job: string): OpenProblem | undefined {
    const row = this.db
      .prepare<[string], { since: number; failures: number; notified_at: number; last_error: string }>(`SELECT since, failures, notified_at, last_error FROM job_problems WHERE job = ? AND kind = 'backup_failed'`)
      .get(job);
    return row && { since: row.since, failures: row.failures, notifiedAt: row.notified_at, lastError: row.last_error };
  }

  /** Records the job's open problem as it is now, or closes it (undefined). */
  setProblem(job: string, problem: OpenProblem | undefined): void {
    if (!problem) {
      this.db.prepare(`DELETE FROM job_problems WHERE job = ? AND kind = 'backup_failed'`).run(job);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO job_problems (job, kind, since, failures, notified_at, last_error) VALUES (?, 'backup_failed', ?, ?, ?, ?)
         ON CONFLICT (job, kind) DO UPDATE SET since = excluded.since, failures = excluded.failures, notified_at = excluded.notified_at, last_error = excluded.last_error`,
      )
      .run(job, problem.since, problem.failures, problem.notifiedAt, problem.lastError);
  }

  /** Failed runs in a row, per job with an open problem. */
  failingJobs(): { job: string; failures: number }[] {
    return this.db.prepare<[], { job: string; failures: number }>(`SELECT job, failures FROM job_problems WHERE kind = 'backup_failed' ORDER BY job`).all();
  }

  /** Where the audit trail stood after its last append (undefined before the first). */
  auditAnchor(): AuditAnchor | undefined {
    return this.db.prepare<[], AuditAnchor>(`SELECT lines, head FROM audit_anchor WHERE id = 1`).get();
  }

  setAuditAnchor(anchor: AuditAnchor, at: number): void {
    this.db
      .prepare(`INSERT INTO audit_anchor (id, lines, head, at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET lines = excluded.lines, head = excluded.head, at = excluded.at`)
      .run(anchor.lines, anchor.head, at);
  }

  /** Records a WAL segment stored on a target (again: the newer record wins). */
  recordWalSegment(row: WalSegmentRow): void {
    this.db
      .prepare(
        `INSERT INTO wal_segments (job, name, target, size, sha256, stored_at) VALUES (@job, @name, @target, @size, @sha256, @stored_at)
         ON CONFLICT (job, name, target) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, stored_at = excluded.stored_at`,
      )
      .run(row);
  }

  /** Forgets WAL files pruned from a target. */
  forgetWalSegments(job: string, target: string, names: string[]): void {
    const forget = this.db.prepare(`DELETE FROM wal_segments WHERE job = ? AND target = ? AND name = ?`);
    this.db.transaction(() => {
      for (const name of names) forget.run(job, target, name);
    })();
  }

  /** The job's WAL segments stored on `target`, by name. */
  walSegments(job: string, target: string): WalSegmentRow[] {
    return this.db.prepare<[string, string], WalSegmentRow>(`SELECT * FROM wal_segments WHERE job = ? AND target = ? ORDER BY name`).all(job, target);
  }

  /** One WAL file of the job on `target`, if stored there. */
  walSegment(job: string, target: string, name: string): WalSegmentRow | undefined {
    return this.db.prepare<[string, string, string], WalSegmentRow>(`SELECT * FROM wal_segments WHERE job = ? AND target = ? AND name = ?`).get(job, target, name);
  }

  /** Records the newest partial copy of a job's open segment on a target, in place of the one before. */
  recordWalPartial(row: WalPartialRow): void {
    this.db.prepare(`INSERT OR REPLACE INTO wal_partials (job, target, name, object, stored_at) VALUES (@job, @target, @name, @object, @stored_at)`).run(row);
  }

  /** The newest partial copy of the job's open segment on `target`. */
  walPartial(job: string, target: string): WalPartialRow | undefined {
    return this.db.prepare<[string, string], WalPartialRow>(`SELECT * FROM wal_partials WHERE job = ? AND target = ?`).get(job, target);
  }

  forgetWalPartial(job: string, target: string): void {
    this.db.prepare(`DELETE FROM wal_partials WHERE job = ? AND target = ?`).run(job, target);
  }

  /** Records the cluster's WAL position at `at`, and forgets samples older than `keepFrom`. */
  recordWalPosition(job: string, at: number, lsn: string, keepFrom: number): void {
    this.db.transaction(() => {
      this.db.prepare(`INSERT OR REPLACE INTO wal_positions (job, at, lsn) VALUES (?, ?, ?)`).run(job, at, lsn);
      this.db.prepare(`DELETE FROM wal_positions WHERE job = ? AND at < ?`).run(job, keepFrom);
    })();
  }

  /** The job's WAL position samples since `from`, oldest first. */
  walPositions(job: string, from: number): { at: number; lsn: string }[] {
    return this.db.prepare<[string, number], { at: number; lsn: string }>(`SELECT at, lsn FROM wal_positions WHERE job = ? AND at >= ? ORDER BY at`).all(job, from);
  }

  /** How many events of `kind` were recorded. */
  countEvents(kind: string): number {
    return this.db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM events WHERE kind = ?`).get(kind)!.n;
  }

  addEvent(event: { at: number; kind: string; job?: string; backup_id?: string; target?: string; detail?: string }): void {
    this.db
      .prepare(`INSERT INTO events (at, kind, job, backup_id, target, detail) VALUES (@at, @kind, @job, @backup_id, @target, @detail)`)
      .run({ job: null, backup_id: null, target: null, detail: null, ...event });
  }
}

/** The versions recorded for a copy's objects, by object name ({} when the store gives none). */
export function copyVersions(copy: Pick<CopyRow, "versions"> | undefined): Record<string, string> {
  return copy?.versions ? (JSON.parse(copy.versions) as Record<string, string>) : {};
}

/** A recorded backup's manifest, checked again: a catalog row may have come from a target (a rebuild). */
export function parseManifest(row: Pick<BackupRow, "manifest">): Manifest {
  return manifestFrom(row.manifest, (reason) => new IntegrityError(`the catalog holds an invalid manifest: ${reason}`));
}
