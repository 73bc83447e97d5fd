import { OperationError } from "../errors.js";
import { describeError } from "../errors.js";
import type { PgConnection } from "../sources/pg-connection.js";

/**
 * What ensureSlot found: the slot there and holding its WAL, none (created now), or one that
 * lost WAL it should have kept (`wal_status = 'lost'`, past max_slot_wal_keep_size: no
 * stream can use it; dropped and created again).
 */
export type SlotFound = "kept" | "missing" | "lost";

/**
 * Creates the job's replication slot unless it exists, reserving WAL at once: from then on
 * the server keeps every WAL file until drd received it, so a base backup that begins after
 * this has all its WAL on the way to the archive, however late the stream starts (with an
 * empty spool, pg_receivewal starts from the slot's position). A slot made without reserving
 * (pg_receivewal --create-slot) would hold nothing until the stream first connects.
 */
export async function ensureSlot(conn: PgConnection, slot: string): Promise<SlotFound> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const { rows } = await client.query<{ wal_status: string | null }>("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    if (rows.length > 0 && rows[0]!.wal_status !== "lost") return "kept";
    if (rows.length > 0) await client.query("SELECT pg_drop_replication_slot($1)", [slot]);
    await client.query("SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)", [slot]);
    return rows.length > 0 ? "lost" : "missing";
  } catch (err) {
    // Made meanwhile by the stream or a backup: that is the slot wanted, and it was missing.
    if ((err as { code?: string }).code === "42710") return "missing";
    throw new OperationError(`creating the replication slot ${slot} failed: ${conn.mask(describeError(err))}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops the slot unless a receiver holds it: whether one was dropped (a slot nobody reads keeps every WAL file on the server). */
export async function dropIdleSlot(conn: PgConnection, slot: string): Promise<boolean> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const { rows } = await client.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", [slot]);
    return rows.length > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}
