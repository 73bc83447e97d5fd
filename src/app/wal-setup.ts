import { execa } from "execa";
import { describeError, OperationError, UsageError } from "../errors.js";
import { PgConnection } from "../sources/pg-connection.js";
import { slotName } from "../wal/layout.js";
import { ensureSlot } from "../wal/slot.js";
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
  /**
   * What --apply does about it, as a superuser: SQL run in order; slot: the job's slot made as
   * the daemon makes it (ensureSlot); null: nothing it can (pg_hba.conf, a restart, a choice
   * drd does not guess).
   */
  apply: { kind: "sql"; statements: string[] } | { kind: "slot" } | null;
}

export interface WalSetupReport {
  job: string;
  slot: string;
  checks: SetupCheck[];
  /** Every required check passed. */
  ok: boolean;
  restart_needed: boolean;
  /** With --apply: what was done (SQL run, the slot made), in order; without it, null. */
  applied: string[] | null;
  /** Settings set (in postgresql.auto.conf or elsewhere) that take effect only after a restart, with the value waiting (pg_settings.pending_restart). */
  pending_restart: { name: string; value: string | null }[];
}

/** What --apply is given: a superuser's connection, and the bound on a slot's WAL when one is wanted. */
export interface ApplyOptions {
  /** libpq URL of a superuser, without a password; default the job's own connection. */
  superuserConnection?: string;
  superuserPasswordFile?: string;
  /** max_slot_wal_keep_size to set, in MB; undefined: left as it is (advice only). */
  maxSlotWalKeepSizeMb?: number;
}

interface ServerFacts {
  role: string;
  replication: boolean;
  superuser: boolean;
  walLevel: string;
  maxWalSenders: number;
  maxSlots: number;
  keepSize: string;
  /** max_slot_wal_keep_size in MB (-1: no bound). */
  keepSizeMb: number;
  slot: { restartLsn: string | null; walStatus: string | null } | undefined;
  /** Restart-only settings whose configured value waits for a restart: name to that value (null when this role may not read the files). */
  pending: Record<string, string | null>;
}

/** The settings a cluster job needs that take a restart. */
const RESTART_SETTINGS = ["wal_level", "max_wal_senders", "max_replication_slots"];

/**
 * What a cluster job needs of its server, read through the job's own connection: the role's
 * REPLICATION attribute, wal_level, WAL senders and slots, the job's slot (and whether it
 * lost WAL), a bound on what a slot may hold (so a receiver that is gone cannot fill the
 * production disk), and that a replication connection is allowed (pg_hba.conf).
 *
 * With `apply`, a superuser's session does what SQL can: ALTER ROLE, the slot, ALTER SYSTEM,
 * then pg_reload_conf(); the report is then read again, so a setting that waits for a restart
 * says so. pg_hba.conf is the operator's to edit: its line stays in the report.
 */
export async function walSetup(ctx: AppContext, jobName: string, apply?: ApplyOptions): Promise<WalSetupReport> {
  const job = jobOf(ctx, jobName);
  if (job.type !== "postgres_cluster") throw new UsageError(`${jobName} is a ${job.type} job: wal setup is for postgres_cluster jobs`);
  const slot = slotName(jobName);
  const conn = await PgConnection.open(job.connection, job.password_file);
  const superuser = apply ? await superuserConnection(job.connection, job.password_file, apply) : undefined;
  try {
    const read = async () => {
      const facts = await readFacts(conn, slot, superuser);
      return { facts, checks: setupChecks(facts, slot, await replicationAllowed(conn), { maxSlotWalKeepSizeMb: apply?.maxSlotWalKeepSizeMb }) };
    };
    let { facts, checks } = await read();
    let applied: string[] | null = null;
    if (superuser) {
      applied = await applyChecks(superuser, slot, checks);
      if (applied.length > 0) ({ facts, checks } = await read());
    }
    const ok = checks.every((c) => c.ok || !c.required);
    return {
      job: jobName,
      slot,
      checks,
      ok,
      restart_needed: checks.some((c) => !c.ok && c.restart),
      applied,
      pending_restart: Object.entries(facts.pending).map(([name, value]) => ({ name, value })),
    };
  } finally {
    await conn.close();
  }
}

/**
 * The superuser --apply works as: --superuser-connection (with its own password file), else
 * the job's own connection. The job's role is meant to hold REPLICATION and no more, so the
 * usual set-up gives a superuser here, once, and never keeps it in the config. Its URL must
 * hold no password (a command line is visible to every user of the host).
 */
async function superuserConnection(jobConnection: string, jobPasswordFile: string | undefined, apply: ApplyOptions): Promise<PgConnection> {
  const given = apply.superuserConnection;
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new UsageError("--superuser-connection: not a postgresql:// URL");
    }
    if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") throw new UsageError("--superuser-connection: not a postgresql:// URL");
    if (url.password || url.searchParams.has("password")) throw new UsageError("--superuser-connection must not contain a password; use --superuser-password-file or .pgpass");
  }
  const conn = await PgConnection.open(given ?? jobConnection, given !== undefined ? apply.superuserPasswordFile : (apply.superuserPasswordFile ?? jobPasswordFile));
  const client = await conn.client(conn.defaultDatabase);
  try {
    const { rows } = await client.query<{ role: string; superuser: boolean }>("SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user");
    if (!rows[0]?.superuser)
      throw new UsageError(`--apply needs a superuser: ${rows[0]?.role ?? "the role"} is not one; give --superuser-connection postgresql://postgres@HOST/postgres`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return conn;
}

/** Runs each check's apply, then reloads the configuration and waits until new sessions see it. What was done, in order. */
async function applyChecks(conn: PgConnection, slot: string, checks: SetupCheck[]): Promise<string[]> {
  const done: string[] = [];
  const client = await conn.client(conn.defaultDatabase);
  try {
    let altered = false;
    for (const c of checks) {
      if (c.ok || !c.apply) continue;
      if (c.apply.kind === "slot") {
        await ensureSlot(conn, slot);
        done.push(`SELECT pg_create_physical_replication_slot('${slot}', true);`);
        continue;
      }
      for (const sql of c.apply.statements) {
        try {
          await client.query(sql);
        } catch (err) {
          throw new OperationError(`${sql} failed: ${conn.mask(describeError(err))}`);
        }
        done.push(`${sql};`);
        altered ||= sql.startsWith("ALTER SYSTEM");
      }
    }
    if (altered) {
      const before = (await client.query<{ at: Date }>("SELECT pg_conf_load_time() AS at")).rows[0]!.at.getTime();
      await client.query("SELECT pg_reload_conf()");
      done.push("SELECT pg_reload_conf();");
      await reloaded(conn, before);
    }
    return done;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** pg_reload_conf() only signals the server: a new session sees the reloaded files once the postmaster read them. */
async function reloaded(conn: PgConnection, before: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = await conn.client(conn.defaultDatabase);
    try {
      const at = (await client.query<{ at: Date }>("SELECT pg_conf_load_time() AS at")).rows[0]!.at.getTime();
      if (at > before) return;
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new OperationError("the server did not reload its configuration within 10 s of pg_reload_conf()");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readFacts(conn: PgConnection, slot: string, superuser: PgConnection | undefined): Promise<ServerFacts> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const { rows } = await client.query<{ role: string; replication: boolean; superuser: boolean; wal_level: string; senders: string; slots: string; keep: string; keep_mb: string }>(
      `SELECT current_user AS role, r.rolreplication AS replication, r.rolsuper AS superuser,
              current_setting('wal_level') AS wal_level, current_setting('max_wal_senders') AS senders,
              current_setting('max_replication_slots') AS slots, current_setting('max_slot_wal_keep_size') AS keep,
              (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_mb
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
      keepSizeMb: Number(r.keep_mb),
      slot: s.rows[0] ? { restartLsn: s.rows[0].restart_lsn, walStatus: s.rows[0].wal_status } : undefined,
      pending: await pendingRestart(superuser ?? conn),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The restart-only settings whose configured value waits for a restart, and that value: the
 * last line for it in the configuration files (pg_file_settings, a superuser's to read; for
 * others, the value is unknown). Its error column is no filter: a value waiting for a restart
 * is "setting could not be applied" there.
 */
async function pendingRestart(conn: PgConnection): Promise<Record<string, string | null>> {
  const client = await conn.client(conn.defaultDatabase);
  try {
    const names = await client.query<{ name: string }>("SELECT name FROM pg_settings WHERE pending_restart AND name = ANY($1)", [RESTART_SETTINGS]);
    const pending: Record<string, string | null> = Object.fromEntries(names.rows.map((r) => [r.name, null]));
    if (names.rows.length === 0) return pending;
    const files = await client
      .query<{ name: string; setting: string }>("SELECT DISTINCT ON (name) name, setting FROM pg_file_settings WHERE name = ANY($1) ORDER BY name, seqno DESC", [names.rows.map((r) => r.name)])
      .catch(() => ({ rows: [] as { name: string; setting: string }[] }));
    for (const f of files.rows) pending[f.name] = f.setting;
    return pending;
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

/** What the choices of `wal setup` add to the facts: the bound on a slot's WAL, when one is given. */
export interface SetupWants {
  maxSlotWalKeepSizeMb?: number | undefined;
}

/**
 * The checks, pure: what the facts say, the fix for each that falls short, and what --apply
 * does about it. A restart-only setting already set to what is needed waits for the restart
 * and is not set again; the slot waits for wal_level and max_replication_slots (the server
 * refuses a slot without them).
 */
export function setupChecks(f: ServerFacts, slot: string, replication: { ok: true } | { ok: false; reason: string }, wants: SetupWants = {}): SetupCheck[] {
  const role = quoteIdent(f.role);
  const setSystem = (settings: Record<string, string>) => Object.entries(settings).map(([name, value]) => `ALTER SYSTEM SET ${name} = '${value}'`);
  // A setting that takes a restart: what it is, and whether the value set waits for that restart.
  const waiting = (name: string, meets: (value: string) => boolean) => f.pending[name] !== undefined && f.pending[name] !== null && meets(f.pending[name]!);
  const walLevelOk = f.walLevel !== "minimal";
  const walLevelSet = waiting("wal_level", (v) => v !== "minimal");
  const sendersOk = f.maxWalSenders >= 2 && f.maxSlots >= 1;
  const sendersSet = (f.maxWalSenders >= 2 || waiting("max_wal_senders", (v) => Number(v) >= 2)) && (f.maxSlots >= 1 || waiting("max_replication_slots", (v) => Number(v) >= 1));
  const keepWanted = wants.maxSlotWalKeepSizeMb;
  const keepOk = keepWanted === undefined ? f.keepSizeMb !== -1 : f.keepSizeMb === keepWanted;
  const restartNote = "  -- set; takes effect when PostgreSQL restarts";
  return [
    {
      check: "the role may stream WAL",
      ok: f.replication || f.superuser,
      detail: f.superuser ? `${f.role} is a superuser` : f.replication ? `${f.role} has REPLICATION` : `${f.role} lacks REPLICATION`,
      fix: f.replication || f.superuser ? null : `ALTER ROLE ${role} REPLICATION;`,
      restart: false,
      required: true,
      apply: f.replication || f.superuser ? null : { kind: "sql", statements: [`ALTER ROLE ${role} REPLICATION`] },
    },
    {
      check: "wal_level is replica or logical",
      ok: walLevelOk,
      detail: walLevelOk ? `wal_level = ${f.walLevel}` : walLevelSet ? `wal_level = ${f.walLevel}; ${f.pending.wal_level} is set and waits for a restart` : `wal_level = ${f.walLevel}`,
      fix: walLevelOk ? null : walLevelSet ? `restart PostgreSQL${restartNote}` : "ALTER SYSTEM SET wal_level = 'replica';  -- then restart PostgreSQL",
      restart: true,
      required: true,
      // (minimal goes with max_wal_senders = 0: the next check sets the senders, before the one reload.)
      apply: walLevelOk || walLevelSet ? null : { kind: "sql", statements: setSystem({ wal_level: "replica" }) },
    },
    {
      check: "WAL senders and replication slots are allowed",
      ok: sendersOk,
      detail: `max_wal_senders = ${f.maxWalSenders}, max_replication_slots = ${f.maxSlots} (the stream and a base backup each take a sender)${!sendersOk && sendersSet ? "; enough are set and wait for a restart" : ""}`,
      fix: sendersOk ? null : sendersSet ? `restart PostgreSQL${restartNote}` : "ALTER SYSTEM SET max_wal_senders = 10; ALTER SYSTEM SET max_replication_slots = 10;  -- then restart PostgreSQL",
      restart: true,
      required: true,
      apply: sendersOk || sendersSet ? null : { kind: "sql", statements: setSystem({ ...(f.maxWalSenders < 2 ? { max_wal_senders: "10" } : {}), ...(f.maxSlots < 1 ? { max_replication_slots: "10" } : {}) }) },
    },
    {
      check: "pg_hba.conf allows the replication connection",
      ok: replication.ok,
      detail: replication.ok ? "a replication connection as this role works" : replication.reason,
      // Only pg_hba.conf's refusal is fixed there; a role without REPLICATION is the check above.
      // No SQL edits pg_hba.conf: a step for the operator, also with --apply.
      fix: replication.ok || !replication.reason.includes("pg_hba.conf") ? null : `host replication ${f.role} <this server's address>/32 scram-sha-256   # in pg_hba.conf, then SELECT pg_reload_conf();`,
      restart: false,
      required: true,
      apply: null,
    },
    {
      check: `the slot ${slot}`,
      ok: f.slot !== undefined && f.slot.walStatus !== "lost",
      detail:
        f.slot === undefined
          ? walLevelOk && f.maxSlots >= 1
            ? "does not exist yet: the daemon creates it when it starts streaming, or the first base backup does"
            : "does not exist yet, and cannot before wal_level and max_replication_slots allow it (after the restart)"
          : f.slot.walStatus === "lost"
            ? "lost WAL it needed (max_slot_wal_keep_size was exceeded): the archive has a gap; drop the slot and take a new base backup"
            : `holds WAL from ${f.slot.restartLsn ?? "(not yet)"}${f.slot.walStatus ? ` (${f.slot.walStatus})` : ""}`,
      fix: f.slot === undefined ? `SELECT pg_create_physical_replication_slot('${slot}', true);` : f.slot.walStatus === "lost" ? `SELECT pg_drop_replication_slot('${slot}');  -- then drctl backup JOB` : null,
      restart: false,
      required: f.slot?.walStatus === "lost",
      // A lost slot is dropped by the operator: that throws away what it still holds.
      apply: f.slot === undefined && walLevelOk && f.maxSlots >= 1 ? { kind: "slot" } : null,
    },
    {
      check: "a slot cannot fill the disk",
      ok: keepOk,
      detail:
        f.keepSizeMb === -1
          ? "max_slot_wal_keep_size = -1: a receiver that stays away makes the server keep WAL until its disk is full"
          : `max_slot_wal_keep_size = ${f.keepSize}${keepOk ? "" : `, not the ${keepWanted} MB asked`}`,
      fix: keepOk
        ? null
        : keepWanted === undefined
          ? "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf();  -- more than the WAL written while the daemon may be down (--apply sets it with --max-slot-wal-keep-size SIZE)"
          : `ALTER SYSTEM SET max_slot_wal_keep_size = '${keepWanted}MB'; SELECT pg_reload_conf();`,
      restart: false,
      required: false,
      apply: keepOk || keepWanted === undefined ? null : { kind: "sql", statements: setSystem({ max_slot_wal_keep_size: `${keepWanted}MB` }) },
    },
  ];
}

/** --max-slot-wal-keep-size: a size in MB, GB or TB (as PostgreSQL writes it), in MB. */
export function parseKeepSize(text: string): number {
  const m = /^(\d+)\s*(MB|GB|TB)$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new UsageError(`--max-slot-wal-keep-size: give a size such as 10GB or 512MB, not ${JSON.stringify(text)}`);
  return Number(m[1]) * { MB: 1, GB: 1024, TB: 1024 * 1024 }[m[2] as "MB" | "GB" | "TB"];
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
