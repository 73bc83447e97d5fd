import type Database from "better-sqlite3";
import type { RpoPoint } from "../policy/rpo-history.js";

export type Objective = "rpo" | "rto";

export interface ObjectiveStateRow {
  job: string;
  objective: Objective;
  state: string;
  since: number;
  value_ms: number | null;
  notified_at: number | null;
}

export interface TransitionRow {
  id: number;
  job: string;
  objective: Objective;
  from_state: string | null;
  to_state: string;
  at: number;
  value_ms: number | null;
  prev_max_ms: number | null;
  detail: string | null;
}

/** Each job's RPO/RTO state and the history of its changes, in the catalog. */
export class ObjectiveStore {
  constructor(private readonly db: Database.Database) {}

  current(job: string, objective: Objective): ObjectiveStateRow | undefined {
    return this.db.prepare<[string, string], ObjectiveStateRow>(`SELECT * FROM objective_state WHERE job = ? AND objective = ?`).get(job, objective);
  }

  all(): ObjectiveStateRow[] {
    return this.db.prepare<[], ObjectiveStateRow>(`SELECT * FROM objective_state ORDER BY job, objective`).all();
  }

  /** Records a new state and its transition in one transaction. */
  change(row: Omit<ObjectiveStateRow, "notified_at">, from: Pick<ObjectiveStateRow, "state" | "value_ms"> | undefined, detail: string | null): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO objective_state (job, objective, state, since, value_ms, notified_at) VALUES (@job, @objective, @state, @since, @value_ms, NULL)
             ON CONFLICT (job, objective) DO UPDATE SET state = excluded.state, since = excluded.since, value_ms = excluded.value_ms, notified_at = NULL`,
          )
          .run(row);
        this.db
          .prepare(`INSERT INTO objective_transitions (job, objective, from_state, to_state, at, value_ms, prev_max_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(row.job, row.objective, from?.state ?? null, row.state, row.since, row.value_ms, from?.value_ms ?? null, detail);
      })
      .immediate();
  }

  /** The age or duration of the current state, kept up to date (the worst age of an open breach). */
  touch(job: string, objective: Objective, valueMs: number | null): void {
    this.db.prepare(`UPDATE objective_state SET value_ms = max(coalesce(value_ms, 0), ?) WHERE job = ? AND objective = ?`).run(valueMs ?? 0, job, objective);
  }

  markNotified(job: string, objective: Objective, at: number): void {
    this.db.prepare(`UPDATE objective_state SET notified_at = ? WHERE job = ? AND objective = ?`).run(at, job, objective);
  }

  /** Transitions of a job's objective from `since` on, and the last one before it (the state the window starts in). */
  transitions(job: string, objective: Objective, since: number): TransitionRow[] {
    const before = this.db
      .prepare<[string, string, number], TransitionRow>(`SELECT * FROM objective_transitions WHERE job = ? AND objective = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1`)
      .get(job, objective, since);
    const after = this.db
      .prepare<[string, string, number], TransitionRow>(`SELECT * FROM objective_transitions WHERE job = ? AND objective = ? AND at > ? ORDER BY at, id`)
      .all(job, objective, since);
    return before ? [before, ...after] : after;
  }

  /** The newest recorded change of the job's newest good backup. */
  lastPoint(job: string): RpoPoint | undefined {
    return this.db.prepare<[string], RpoPoint>(`SELECT at, snapshot_at AS snapshotAt FROM rpo_points WHERE job = ? ORDER BY at DESC LIMIT 1`).get(job);
  }

  /** Records a change; a second one in the same millisecond is the same change. */
  addPoint(job: string, point: RpoPoint): void {
    this.db.prepare(`INSERT OR IGNORE INTO rpo_points (job, at, snapshot_at) VALUES (?, ?, ?)`).run(job, point.at, point.snapshotAt);
  }

  /** The points from `since` on, and the last one before it (the age the window starts with). */
  points(job: string, since: number): RpoPoint[] {
    const before = this.db.prepare<[string, number], RpoPoint>(`SELECT at, snapshot_at AS snapshotAt FROM rpo_points WHERE job = ? AND at <= ? ORDER BY at DESC LIMIT 1`).get(job, since);
    const after = this.db.prepare<[string, number], RpoPoint>(`SELECT at, snapshot_at AS snapshotAt FROM rpo_points WHERE job = ? AND at > ? ORDER BY at`).all(job, since);
    return before ? [before, ...after] : after;
  }

  /** Forgets the job's points older than `at`, but the last one before it (it still gives the age from `at` on); by the key, so each call costs what it removes. */
  forgetPointsBefore(job: string, at: number): void {
    this.db
      .prepare(`DELETE FROM rpo_points WHERE job = ? AND at < (SELECT max(at) FROM rpo_points WHERE job = ? AND at <= ?)`)
      .run(job, job, at);
  }
}
