import { execa } from "execa";
import { OperationError } from "../errors.js";
import type { PgConnection } from "../sources/pg-connection.js";

/** Creating the slot has this long. */
const SLOT_MS = 30_000;

/**
 * Creates the job's replication slot unless it exists. From then on the server keeps every
 * WAL file until drd received it, so a base backup that begins after this has all its WAL
 * on the way to the archive, even when the stream starts later.
 */
export async function ensureSlot(conn: PgConnection, slot: string): Promise<void> {
  const create = await execa("pg_receivewal", ["--create-slot", "--if-not-exists", "--slot", slot, "--no-password", `--dbname=${conn.url.href}`], {
    env: conn.toolEnv(),
    reject: false,
    timeout: SLOT_MS,
    stdin: "ignore",
  });
  if (create.exitCode !== 0) throw new OperationError(`creating the replication slot ${slot} failed: ${conn.mask(`${create.stderr}`).trim() || `pg_receivewal exited ${create.exitCode}`}`);
}
