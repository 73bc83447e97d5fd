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
  /** When it was given up (its channel left the config); `error` says why. */
  retired_at: number | null;
  error: string | null;
}

/** Alerts waiting for delivery, one row per channel: written before any attempt, so a crash forgets none. */
export class Outbox {
  constructor(private readonly db: Database.Database) {}

  add(channel: string, event: string, at: number): number {
    return Number(this.db.prepare(`INSERT INTO alert_outbox (channel, event, created_at, next_attempt_at) VALUES (?, ?, ?, ?)`).run(channel, event, at, at).lastInsertRowid);
  }

  /** The channel's oldest undelivered row, due or not: a channel delivers in order, so nothing after it goes first. */
  head(channel: string): OutboxRow | undefined {
    return this.db.prepare<[string], OutboxRow>(`SELECT * FROM alert_outbox WHERE channel = ? AND delivered_at IS NULL AND retired_at IS NULL ORDER BY id LIMIT 1`).get(channel);
  }

  /** Every row still to be delivered, oldest first. */
  undelivered(): OutboxRow[] {
    return this.db.prepare<[], OutboxRow>(`SELECT * FROM alert_outbox WHERE delivered_at IS NULL AND retired_at IS NULL ORDER BY id`).all();
  }

  /** Channels with undelivered rows. */
  channels(): string[] {
    return this.db.prepare<[], { channel: string }>(`SELECT DISTINCT channel FROM alert_outbox WHERE delivered_at IS NULL AND retired_at IS NULL`).all().map((r) => r.channel);
  }

  /** Takes a due row for one delivery attempt until `until`; false when someone else has it or it is done. */
  claim(id: number, now: number, until: number): boolean {
    return this.db.prepare(`UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND retired_at IS NULL AND next_attempt_at <= ?`).run(until, id, now).changes === 1;
  }

  delivered(id: number, at: number): void {
    this.db.prepare(`UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, error = NULL WHERE id = ?`).run(at, id);
  }

  /** Gives a claimed row back, due at `at`, without counting an attempt (a delivery abandoned at shutdown). */
  release(id: number, at: number): void {
    this.db.prepare(`UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL`).run(at, id);
  }

  retire(id: number, reason: string, at: number): void {
    this.db.prepare(`UPDATE alert_outbox SET retired_at = ?, error = ? WHERE id = ?`).run(at, reason, id);
  }

  /** Retires every waiting row of a channel; how many. */
  retireChannel(channel: string, reason: string, at: number): number {
    return this.db.prepare(`UPDATE alert_outbox SET retired_at = ?, error = ? WHERE channel = ? AND delivered_at IS NULL AND retired_at IS NULL`).run(at, reason, channel).changes;
  }

  /** Moves a channel's waiting rows to another name (the same channel, named anew). */
  rename(from: string, to: string): void {
    this.db.prepare(`UPDATE alert_outbox SET channel = ? WHERE channel = ? AND delivered_at IS NULL AND retired_at IS NULL`).run(to, from);
  }

  /** Waiting rows per channel. */
  waiting(): { channel: string; count: number }[] {
    return this.db.prepare<[], { channel: string; count: number }>(`SELECT channel, count(*) AS count FROM alert_outbox WHERE delivered_at IS NULL AND retired_at IS NULL GROUP BY channel ORDER BY channel`).all();
  }

  failed(id: number, error: string, nextAttemptAt: number): void {
    this.db.prepare(`UPDATE alert_outbox SET attempts = attempts + 1, error = ?, next_attempt_at = ? WHERE id = ?`).run(error, nextAttemptAt, id);
  }
}
