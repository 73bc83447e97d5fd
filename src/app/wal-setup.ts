import { execa } from "execa";
import { UsageError } from "../errors.js";
import { PgConnection } from "../sources/pg-connection.js";
import { slotName } from "../wal/layout.js";
import { jobOf, type AppContext } from "./context.js";

/** One thing a cluster job needs of its PostgreSQL server, as found there. */
export interface SetupCheck {
  check: string;
  ok: boolean;
  /** What the server has now. */
  detail: string;
  /** What to run (SQL, or a pg_hba.conf line) when it is not ok; null when nothing is needed. */
  fix: string | null;
  /** Whether the fix takes a server restart (else a reload, or nothing). */
  restart: boolean;
  /** false: advice (the job works without it, but less safely). */
  required: boolean;
}

export interface WalSetupReport {
  job: string;
  slot: string;
  checks: SetupCheck[];
  /** Every required check passed. */
  ok: boolean;
  restart_needed: boolean;
}

interface ServerFacts {
  role: string;
  replication: boolean;
  superuser: boolean;
  walLevel: string;
  maxWalSenders: number;
  maxSlots: number;
  keepSize: string;
  slot: { restartLsn: string | null; walStatus: string | null } | undefined;
}

/**
 * What a cluster job needs of its server, read through the job's own connection: the role's
 * REPLICATION attribute, wal_level, WAL senders and slots, the job's slot (and whether it
 * lost WAL), a bound on what a slot may hold (so a receiver that is gone cannot fill the
 * production disk), and that a replication connection is allowed (pg_hba.conf).
 */
export async function walSetup(ctx: AppContext, jobName: string): Promise<WalSetupReport> {
  const job = jobOf(ctx, jobName);
  if (job.type !== "postgres_cluster") throw new UsageError(`${jobName} is a ${job.type} job: wal setup is for postgres_cluster jobs`);
  const slot = slotName(jobName);
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    const facts = await readFacts(conn, slot);
    const replication = await replicationAllowed(conn);
    const checks = setupChecks(facts, slot, replication);
    const ok = checks.every((c) => c.ok || !c.required);
    return { job: jobName, slot, checks, ok, restart_needed: checks.some((c) => !c.ok && c.restart) };
  } finally {
    await conn.close();
  }
}

async function readFacts(conn: PgConnection, slot: string): Promise<ServerFacts> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const { rows } = await client.query<{ role: string; replication: boolean; superuser: boolean; wal_level: string; senders: string; slots: string; keep: string }>(
      `SELECT current_user AS role, r.rolreplication AS replication, r.rolsuper AS superuser,
              current_setting('wal_level') AS wal_level, current_setting('max_wal_senders') AS senders,
              current_setting('max_replication_slots') AS slots, current_setting('max_slot_wal_keep_size') AS keep
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    const s = await client.query<{ restart_lsn: string | null; wal_status: string | null }>("SELECT restart_lsn::text, wal_status FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    const r = rows[0]!;
    return {
      role: r.role,
      replication: r.replication,
      superuser: r.superuser,
      walLevel: r.wal_level,
      maxWalSenders: Number(r.senders),
      maxSlots: Number(r.slots),
      keepSize: r.keep,
      slot: s.rows[0] ? { restartLsn: s.rows[0].restart_lsn, walStatus: s.rows[0].wal_status } : undefined,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A replication connection as pg_receivewal makes it: allowed, or the server's reason. */
async function replicationAllowed(conn: PgConnection): Promise<{ ok: true } | { ok: false; reason: string }> {
  const url = new URL(conn.url.href);
  url.searchParams.set("replication", "true");
  const r = await execa("psql", ["-XAtq", "-d", url.href, "-c", "IDENTIFY_SYSTEM"], { env: conn.toolEnv(), reject: false, timeout: 30_000, stdin: "ignore" });
  return r.exitCode === 0 ? { ok: true } : { ok: false, reason: conn.mask(`${r.stderr}`.trim().split("\n")[0] || `psql exited ${r.exitCode}`) };
}

/** The checks, pure: what the facts say, and the fix for each that falls short. */
export function setupChecks(f: ServerFacts, slot: string, replication: { ok: true } | { ok: false; reason: string }): SetupCheck[] {
  const role = quoteIdent(f.role);
  return [
    {
      check: "the role may stream WAL",
      ok: f.replication || f.superuser,
      detail: f.superuser ? `${f.role} is a superuser` : f.replication ? `${f.role} has REPLICATION` : `${f.role} lacks REPLICATION`,
      fix: f.replication || f.superuser ? null : `ALTER ROLE ${role} REPLICATION;`,
      restart: false,
      required: true,
    },
    {
      check: "wal_level is replica or logical",
      ok: f.walLevel !== "minimal",
      detail: `wal_level = ${f.walLevel}`,
      fix: f.walLevel === "minimal" ? "ALTER SYSTEM SET wal_level = 'replica';  -- then restart PostgreSQL" : null,
      restart: true,
      required: true,
    },
    {
      check: "WAL senders and replication slots are allowed",
      ok: f.maxWalSenders >= 2 && f.maxSlots >= 1,
      detail: `max_wal_senders = ${f.maxWalSenders}, max_replication_slots = ${f.maxSlots} (the stream and a base backup each take a sender)`,
      fix: f.maxWalSenders >= 2 && f.maxSlots >= 1 ? null : "ALTER SYSTEM SET max_wal_senders = 10; ALTER SYSTEM SET max_replication_slots = 10;  -- then restart PostgreSQL",
      restart: true,
      required: true,
    },
    {
      check: "pg_hba.conf allows the replication connection",
      ok: replication.ok,
      detail: replication.ok ? "a replication connection as this role works" : replication.reason,
      // Only pg_hba.conf's refusal is fixed there; a role without REPLICATION is the check above.
      fix: replication.ok || !replication.reason.includes("pg_hba.conf") ? null : `host replication ${f.role} <this server's address>/32 scram-sha-256   # in pg_hba.conf, then SELECT pg_reload_conf();`,
      restart: false,
      required: true,
    },
    {
      check: `the slot ${slot}`,
      ok: f.slot !== undefined && f.slot.walStatus !== "lost",
      detail:
        f.slot === undefined
          ? "does not exist yet: the daemon creates it when it starts streaming, or the first base backup does"
          : f.slot.walStatus === "lost"
            ? "lost WAL it needed (max_slot_wal_keep_size was exceeded): the archive has a gap; drop the slot and take a new base backup"
            : `holds WAL from ${f.slot.restartLsn ?? "(not yet)"}${f.slot.walStatus ? ` (${f.slot.walStatus})` : ""}`,
      fix: f.slot === undefined ? `SELECT pg_create_physical_replication_slot('${slot}', true);` : f.slot.walStatus === "lost" ? `SELECT pg_drop_replication_slot('${slot}');  -- then drctl backup JOB` : null,
      restart: false,
      required: f.slot?.walStatus === "lost",
    },
    {
      check: "a slot cannot fill the disk",
      ok: f.keepSize !== "-1",
      detail: f.keepSize === "-1" ? "max_slot_wal_keep_size = -1: a receiver that stays away makes the server keep WAL until its disk is full" : `max_slot_wal_keep_size = ${f.keepSize}`,
      fix: f.keepSize === "-1" ? "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf();  -- more than the WAL written while the daemon may be down" : null,
      restart: false,
      required: false,
    },
  ];
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
