import type Database from "better-sqlite3";

export interface OutboxRow {
  id: number;
  channel: string;
  /** The AlertMessage, as JSON. */
  event: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  error: string | null;
}

/** Alerts waiting for delivery, one row per channel: written before any attempt, so a crash forgets none. */
export class Outbox {
  constructor(private readonly db: Database.Database) {}

  add(channel: string, event: string, at: number): number {
    return Number(this.db.prepare(`INSERT INTO alert_outbox (channel, event, created_at, next_attempt_at) VALUES (?, ?, ?, ?)`).run(channel, event, at, at).lastInsertRowid);
  }

  /** Undelivered rows due at `now`, oldest first (all undelivered ones when `now` is undefined). */
  due(now?: number): OutboxRow[] {
    return now === undefined
      ? this.db.prepare<[], OutboxRow>(`SELECT * FROM alert_outbox WHERE delivered_at IS NULL ORDER BY id`).all()
      : this.db.prepare<[number], OutboxRow>(`SELECT * FROM alert_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id`).all(now);
  }

  /** Takes a due row for one delivery attempt until `until`; false when someone else has it or it is done. */
  claim(id: number, now: number, until: number): boolean {
    return this.db.prepare(`UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND next_attempt_at <= ?`).run(until, id, now).changes === 1;
  }

  delivered(id: number, at: number): void {
    this.db.prepare(`UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, error = NULL WHERE id = ?`).run(at, id);
  }

  failed(id: number, error: string, nextAttemptAt: number): void {
    this.db.prepare(`UPDATE alert_outbox SET attempts = attempts + 1, error = ?, next_attempt_at = ? WHERE id = ?`).run(error, nextAttemptAt, id);
  }
}
