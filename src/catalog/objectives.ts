import type Database from "better-sqlite3";

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
}
