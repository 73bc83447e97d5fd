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
  /** How the job gets its WAL (wal.mode): the checks differ. */
  mode: "stream" | "archive";
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
  /** The server's own archiving: its settings (archive_command is null when this role may not read it) and whether its last attempt failed. */
  archive: { mode: string; command: string | null; timeoutS: number; failing: { wal: string; at: string } | null };
}

/** The settings a cluster job needs that take a restart. */
const RESTART_SETTINGS = ["wal_level", "max_wal_senders", "max_replication_slots", "archive_mode"];

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
  const archiveCommand = job.wal.mode === "archive" ? `drctl wal push ${jobName} %p${job.wal.socket ? ` --socket ${job.wal.socket}` : ""}` : undefined;
  const conn = await PgConnection.open(job.connection, job.password_file);
  const superuser = apply ? await superuserConnection(job.connection, job.password_file, apply) : undefined;
  try {
    const read = async () => {
      const facts = await readFacts(conn, slot, superuser);
      return { facts, checks: setupChecks(facts, slot, await replicationAllowed(conn), { maxSlotWalKeepSizeMb: apply?.maxSlotWalKeepSizeMb, archiveCommand }) };
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
      mode: job.wal.mode,
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
    // archive_command is readable by superusers and pg_read_all_settings (pg_monitor) only: pg_settings hides it from others.
    const a = await client.query<{ mode: string; command: string | null; timeout: string; failing: boolean | null; failed_wal: string | null; failed_at: string | null }>(
      `SELECT current_setting('archive_mode') AS mode, (SELECT setting FROM pg_settings WHERE name = 'archive_command') AS command,
              (SELECT setting FROM pg_settings WHERE name = 'archive_timeout') AS timeout,
              x.last_failed_time > coalesce(x.last_archived_time, '-infinity') AS failing, x.last_failed_wal AS failed_wal, x.last_failed_time::text AS failed_at
         FROM pg_stat_archiver x`,
    );
    const arch = a.rows[0]!;
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
      archive: {
        mode: arch.mode,
        command: arch.command,
        timeoutS: Number(arch.timeout),
        failing: arch.failing && arch.failed_wal && arch.failed_at ? { wal: arch.failed_wal, at: arch.failed_at } : null,
      },
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
  /** Archive mode: the archive_command that hands WAL to drd (default: stream mode's checks). */
  archiveCommand?: string | undefined;
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
  const role_: SetupCheck = {
      check: "the role may stream WAL",
      ok: f.replication || f.superuser,
      detail: f.superuser ? `${f.role} is a superuser` : f.replication ? `${f.role} has REPLICATION` : `${f.role} lacks REPLICATION`,
      fix: f.replication || f.superuser ? null : `ALTER ROLE ${role} REPLICATION;`,
      restart: false,
      required: true,
      apply: f.replication || f.superuser ? null : { kind: "sql", statements: [`ALTER ROLE ${role} REPLICATION`] },
    };
  const walLevel: SetupCheck = {
      check: "wal_level is replica or logical",
      ok: walLevelOk,
      detail: walLevelOk ? `wal_level = ${f.walLevel}` : walLevelSet ? `wal_level = ${f.walLevel}; ${f.pending.wal_level} is set and waits for a restart` : `wal_level = ${f.walLevel}`,
      fix: walLevelOk ? null : walLevelSet ? `restart PostgreSQL${restartNote}` : "ALTER SYSTEM SET wal_level = 'replica';  -- then restart PostgreSQL",
      restart: true,
      required: true,
      // (minimal goes with max_wal_senders = 0: the next check sets the senders, before the one reload.)
      apply: walLevelOk || walLevelSet ? null : { kind: "sql", statements: setSystem({ wal_level: "replica" }) },
    };
  const hba: SetupCheck = {
      check: "pg_hba.conf allows the replication connection",
      ok: replication.ok,
      detail: replication.ok ? "a replication connection as this role works" : replication.reason,
      // Only pg_hba.conf's refusal is fixed there; a role without REPLICATION is the check above.
      // No SQL edits pg_hba.conf: a step for the operator, also with --apply.
      fix: replication.ok || !replication.reason.includes("pg_hba.conf") ? null : `host replication ${f.role} <this server's address>/32 scram-sha-256   # in pg_hba.conf, then SELECT pg_reload_conf();`,
      restart: false,
      required: true,
      apply: null,
    };
  if (wants.archiveCommand !== undefined) return [role_, walLevel, ...archiveChecks(f, slot, wants.archiveCommand, { walLevelOk, waiting, setSystem, restartNote }), hba];
  const senders: SetupCheck = {
      check: "WAL senders and replication slots are allowed",
      ok: sendersOk,
      detail: `max_wal_senders = ${f.maxWalSenders}, max_replication_slots = ${f.maxSlots} (the stream and a base backup each take a sender)${!sendersOk && sendersSet ? "; enough are set and wait for a restart" : ""}`,
      fix: sendersOk ? null : sendersSet ? `restart PostgreSQL${restartNote}` : "ALTER SYSTEM SET max_wal_senders = 10; ALTER SYSTEM SET max_replication_slots = 10;  -- then restart PostgreSQL",
      restart: true,
      required: true,
      apply: sendersOk || sendersSet ? null : { kind: "sql", statements: setSystem({ ...(f.maxWalSenders < 2 ? { max_wal_senders: "10" } : {}), ...(f.maxSlots < 1 ? { max_replication_slots: "10" } : {}) }) },
    };
  const slotCheck: SetupCheck = {
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
    };
  const keep: SetupCheck = {
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
    };
  return [role_, walLevel, senders, hba, slotCheck, keep];
}

/**
 * Archive mode's checks in place of the stream's senders, slot and slot bound: a sender for
 * base backups, archive_mode and the archive_command that hands WAL to drd (`expected`), the
 * server's archiving working now, no slot left from stream mode (nothing reads it: it would
 * keep every WAL file), and, as advice, an archive_timeout (a quiet server's last writes
 * otherwise wait for their segment to fill).
 */
function archiveChecks(
  f: ServerFacts,
  slot: string,
  expected: string,
  h: { walLevelOk: boolean; waiting: (name: string, meets: (v: string) => boolean) => boolean; setSystem: (s: Record<string, string>) => string[]; restartNote: string },
): SetupCheck[] {
  const a = f.archive;
  const modeOk = a.mode === "on" || a.mode === "always";
  const modeSet = h.waiting("archive_mode", (v) => v === "on" || v === "always");
  const commandOk = a.command !== null && archiveCommandMatches(a.command, expected);
  const quoted = expected.replace(/'/g, "''");
  return [
    {
      check: "a WAL sender for base backups",
      ok: f.maxWalSenders >= 1,
      detail: `max_wal_senders = ${f.maxWalSenders} (pg_basebackup takes one)`,
      fix: f.maxWalSenders >= 1 ? null : h.waiting("max_wal_senders", (v) => Number(v) >= 1) ? `restart PostgreSQL${h.restartNote}` : "ALTER SYSTEM SET max_wal_senders = 10;  -- then restart PostgreSQL",
      restart: true,
      required: true,
      apply: f.maxWalSenders >= 1 || h.waiting("max_wal_senders", (v) => Number(v) >= 1) ? null : { kind: "sql", statements: h.setSystem({ max_wal_senders: "10" }) },
    },
    {
      check: "archive_mode is on",
      ok: modeOk,
      detail: `archive_mode = ${a.mode}${!modeOk && modeSet ? `; ${f.pending.archive_mode} is set and waits for a restart` : ""}`,
      fix: modeOk ? null : modeSet ? `restart PostgreSQL${h.restartNote}` : "ALTER SYSTEM SET archive_mode = 'on';  -- then restart PostgreSQL",
      restart: true,
      required: true,
      apply: modeOk || modeSet ? null : { kind: "sql", statements: h.setSystem({ archive_mode: "on" }) },
    },
    {
      check: "archive_command hands each WAL file to drd",
      ok: commandOk,
      detail: a.command === null ? "this role may not read archive_command (GRANT pg_monitor TO it, or run as a superuser)" : a.command === "" ? "archive_command is empty" : `archive_command = '${a.command}'`,
      fix: commandOk ? null : `ALTER SYSTEM SET archive_command = '${quoted}'; SELECT pg_reload_conf();`,
      restart: false,
      required: true,
      apply: commandOk || a.command === null ? null : { kind: "sql", statements: [`ALTER SYSTEM SET archive_command = '${quoted}'`] },
    },
    {
      check: "the server's archiving works",
      ok: a.failing === null,
      detail: a.failing ? `archive_command failed for ${a.failing.wal} at ${a.failing.at} and has not succeeded since (the server's log says why; is the daemon running?)` : "no failure since the last file archived",
      fix: null,
      restart: false,
      required: true,
      apply: null,
    },
    {
      check: `no slot ${slot} left from stream mode`,
      ok: f.slot === undefined,
      detail: f.slot === undefined ? "none (archive mode needs no slot)" : `it exists and holds WAL from ${f.slot.restartLsn ?? "(not yet)"}: nothing reads it in archive mode (the daemon drops it when it starts)`,
      fix: f.slot === undefined ? null : `SELECT pg_drop_replication_slot('${slot}');`,
      restart: false,
      required: false,
      apply: f.slot === undefined ? null : { kind: "sql", statements: [`SELECT pg_drop_replication_slot('${slot}')`] },
    },
    {
      check: "a quiet server's writes are archived within a bound",
      ok: a.timeoutS > 0,
      detail: a.timeoutS > 0 ? `archive_timeout = ${a.timeoutS} s` : "archive_timeout = 0: a write waits until its 16 MiB segment fills before it is archived",
      fix: a.timeoutS > 0 ? null : "ALTER SYSTEM SET archive_timeout = '60s'; SELECT pg_reload_conf();  -- at most the job's RPO",
      restart: false,
      required: false,
      apply: null,
    },
  ];
}

/** Whether the server's archive_command is drd's for this job: `wal push JOB %p` (and the socket the job names, when it names one). */
export function archiveCommandMatches(actual: string, expected: string): boolean {
  const words = (t: string) => t.trim().split(/\s+/);
  const want = words(expected);
  const have = words(actual);
  const at = have.findIndex((w, i) => w === "wal" && have[i + 1] === "push");
  if (at < 1 || !/(^|\/)drctl(\.js)?$/.test(have[at - 1]!)) return false;
  const rest = (ws: string[]) => ws.slice(ws.indexOf("push") + 1).join(" ");
  return rest(have) === rest(want);
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
