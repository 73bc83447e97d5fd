import type Database from "better-sqlite3";
import type { BackupKind, Manifest } from "../manifest.js";
import { openDatabase } from "./open.js";

export type RunState = "running" | "succeeded" | "failed" | "interrupted";
export type CopyState = "pending" | "written" | "verified" | "corrupt" | "missing" | "deleted";

export interface RunRow {
  id: number;
  job: string;
  backup_id: string;
  trigger: "manual" | "schedule";
  pid: number;
  started_at: number;
  finished_at: number | null;
  state: RunState;
  error: string | null;
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
}

export interface BackupWithCopies extends BackupRow {
  copies: CopyRow[];
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
    run: Pick<RunRow, "job" | "backup_id" | "trigger" | "pid" | "started_at">,
    isAlive: (pid: number) => boolean,
  ): { started: RunRow } | { busy: RunRow } {
    return this.db
      .transaction(() => {
        const running = this.db
          .prepare<[string], RunRow>(`SELECT * FROM runs WHERE state = 'running' AND job = ?`)
          .all(run.job)
          .find((r) => isAlive(r.pid));
        if (running) return { busy: running };
        const info = this.db
          .prepare(
            `INSERT INTO runs (job, backup_id, trigger, pid, started_at, state) VALUES (@job, @backup_id, @trigger, @pid, @started_at, 'running')`,
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

  lastRuns(job: string, limit = 10): RunRow[] {
    return this.db
      .prepare<[string, number], RunRow>(`SELECT * FROM runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?`)
      .all(job, limit);
  }

  finishRun(id: number, state: Exclude<RunState, "running">, at: number, error?: string): void {
    this.db.prepare(`UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ?`).run(state, at, error ?? null, id);
  }

  /** Registers a complete backup and its copies in one transaction. */
  recordBackup(backup: BackupRow, copies: CopyRow[]): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO backups (id, job, kind, run_id, snapshot_at, finished_at, size, sha256, encryption, manifest)
             VALUES (@id, @job, @kind, @run_id, @snapshot_at, @finished_at, @size, @sha256, @encryption, @manifest)`,
          )
          .run(backup);
        const insert = this.db.prepare(
          `INSERT INTO copies (backup_id, target, location, state, written_at, verified_at, error, attempts, next_attempt_at)
           VALUES (@backup_id, @target, @location, @state, @written_at, @verified_at, @error, @attempts, @next_attempt_at)`,
        );
        for (const copy of copies) insert.run(copy);
      })
      .immediate();
  }

  updateCopy(backupId: string, target: string, change: Partial<Omit<CopyRow, "backup_id" | "target">>): void {
    const sets = Object.keys(change).map((k) => `${k} = @${k}`);
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE copies SET ${sets.join(", ")} WHERE backup_id = @backup_id AND target = @target`)
      .run({ ...change, backup_id: backupId, target });
  }

  getBackup(id: string): BackupWithCopies | undefined {
    const row = this.db.prepare<[string], BackupRow>(`SELECT * FROM backups WHERE id = ?`).get(id);
    return row && { ...row, copies: this.copiesOf(row.id) };
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

  copiesOf(backupId: string): CopyRow[] {
    return this.db.prepare<[string], CopyRow>(`SELECT * FROM copies WHERE backup_id = ? ORDER BY target`).all(backupId);
  }

  addEvent(event: { at: number; kind: string; job?: string; backup_id?: string; target?: string; detail?: string }): void {
    this.db
      .prepare(`INSERT INTO events (at, kind, job, backup_id, target, detail) VALUES (@at, @kind, @job, @backup_id, @target, @detail)`)
      .run({ job: null, backup_id: null, target: null, detail: null, ...event });
  }
}

export function parseManifest(row: Pick<BackupRow, "manifest">): Manifest {
  return JSON.parse(row.manifest) as Manifest;
}
