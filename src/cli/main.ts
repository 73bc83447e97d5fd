import { Command, CommanderError, Option } from "commander";
import { contextFor, type AppContext } from "../app/context.js";
import { assertStateDirOwner } from "../app/state-owner.js";
import { loadConfig, resolveConfigPath } from "../config/load.js";
import { ConfigError, describeError, exitCodeOf, type ExitCode } from "../errors.js";
import { VERSION } from "../version.js";
import type { RestoreFlags } from "./commands/restore.js";
import { processOutput, type Output } from "./io.js";
import { json } from "./render.js";

/**
 * The CLI parses arguments, calls the core and renders; it decides nothing. Every error
 * becomes one line on stderr and an exit code from the contract. Each command's module is
 * imported when that command runs, so `drctl backup` of a local job never loads the S3
 * SDK, the scheduler or the restore code: start-up is part of every backup's wall time.
 */
const CHANGES_OBJECTIVES = new Set(["backup", "drill", "verify", "replicate", "prune"]);

async function settle(ctx: AppContext, io: Output): Promise<void> {
  const { settleObjectives } = await import("../app/objectives.js");
  try {
    for (const r of (await settleObjectives(ctx)).deliveries) if (!r.ok) io.err(`drctl: warning: alert ${r.event} not delivered to ${r.channel} (${r.error}); the daemon retries it`);
  } catch (err) {
    io.err(`drctl: warning: objectives not evaluated: ${describeError(err)}`);
  }
}

export async function main(argv: string[], io: Output = processOutput): Promise<ExitCode> {
  const wantsJson = argv.includes("--json");
  process.umask(0o077);
  const shutdown = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  // A command a signal stopped says so in its exit code, as shells expect (128 + the signal).
  // A daemon that stopped cleanly on SIGTERM exits 0: that is its normal end.
  const interrupted = (code: ExitCode): ExitCode => (interruptedBy && code !== 0 ? (interruptedBy === "SIGINT" ? 130 : 143) : code);
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown.signal.aborted) process.exit(1);
    interruptedBy = signal;
    shutdown.abort(new Error(`received ${signal}`));
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  let exitCode: ExitCode = 0;
  let ctx: AppContext | undefined;
  const context = (program: Command): AppContext => {
    if (ctx) return ctx;
    const config = loadConfig(resolveConfigPath(program.opts().config));
    assertStateDirOwner(config.state_dir, program.opts().allowRoot === true);
    return (ctx = contextFor(config));
  };
  const set = (code: number): void => {
    exitCode = code as ExitCode;
  };

  const program = new Command("drctl")
    .description("drd: backups that are replicated, measured and proven to restore")
    .version(VERSION)
    .option("--config <path>", "config file (default: $DRD_CONFIG, then /etc/drd/drd.yaml)")
    .option("--allow-root", "run as root, or as a user other than the state dir's owner (not recommended)")
    .exitOverride()
    // Every command's help lists --config and the other global options.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      // Usage errors (unknown option, missing argument) under --json: JSON, like every other error.
      // Said as every other error is: "drctl: ...", with where to look.
      outputError: (s, write) =>
        wantsJson ? io.out(json({ error: s.trim().replace(/^error: /, ""), exit_code: 2 })) : write(`${s.trim().replace(/^error: /, "drctl: ")} (drctl --help lists the commands; drctl COMMAND --help its options)\n`),
    })
    .showHelpAfterError(false)
    .addHelpText(
      "after",
      [
        "",
        "Exit codes:",
        "  0          success",
        "  1          the operation failed",
        "  2          bad usage or invalid config",
        "  3          an integrity failure (a checksum, a drill's check, decryption,",
        "             a backup no trusted key signed)",
        "  130 / 143  interrupted by SIGINT / SIGTERM (nothing left behind)",
      ].join("\n"),
    );

  program
    .command("daemon")
    .description("the long-running scheduler (what systemd starts); --allow-root to run as root")
    .option("--drills-only", "run as a drill host (as role: drills in the config): only each job's drill on its drill.schedule; no backups, WAL, prune or copies")
    .action(async (opts: { drillsOnly?: boolean }) =>
      set(
        await (await import("./commands/daemon.js")).daemonCommand(resolveConfigPath(program.opts().config), {
          allowRoot: program.opts().allowRoot === true,
          drillsOnly: opts.drillsOnly === true,
          shutdown: shutdown.signal,
        }),
      ),
    );

  program
    .command("backup")
    .description("run one job now, through the same code path as a scheduled run")
    .argument("<job>")
    .option("--json", "print the result as JSON")
    .action(async (job: string, opts: { json?: boolean }) =>
      set(await (await import("./commands/backup.js")).backupCommand(context(program), io, job, { ...opts, signal: shutdown.signal })),
    );

  program
    .command("list")
    .description("backups with their copies per target, size, sha256, state and policy_ok")
    .argument("[job]", "only this job (default: every job)")
    .option("--from <target>", "read the target's manifests instead of the catalog (a bare machine; default: the catalog)")
    .option("--long", "every column: the job, exact snapshot time, what the policy misses, why a backup is untrusted")
    .option("--json", "print JSON")
    .action(async (job: string | undefined, opts: { json?: boolean; from?: string; long?: boolean }) =>
      set(
        await (await import("./commands/list.js")).listCommand(context(program), io, job, opts),
      ),
    );

  program
    .command("status")
    .description("per job: the newest good backup's age against the RPO, copies, the last drill against the RTO, and the window figures")
    .argument("[job]", "only this job (default: every job)")
    .option("--window <duration>", "the window of the figures (default 30d)")
    .option("--check", "exit 1 when any job is in breach of its RPO or RTO (for cron and monitoring)")
    .option("--json", "print JSON")
    .action(async (job: string | undefined, opts: { json?: boolean; check?: boolean; window?: string }) =>
      set((await import("./commands/status.js")).statusCommand(context(program), io, job, opts)),
    );

  program
    .command("report")
    .description("the evidence report: per job over a window, backup age against the RPO, breaches, drills against the RTO, 3-2-1 state, signatures, retention, the audit trail")
    .option("--window <duration>", "the window (default 30d, at most 100d)")
    .option("--job <job>", "only this job (default: every job)")
    .option("--html <file>", "write the report as one self-contained HTML file (default: none; --html, --json or both is required)")
    .option("--json", "print the report as JSON")
    .action(async (opts: { window?: string; job?: string; html?: string; json?: boolean }) => set(await (await import("./commands/report.js")).reportCommand(context(program), io, opts)));

  program
    .command("events")
    .description("what the catalog recorded: failures, breaches and recoveries, alerts, restores, drills, prunes")
    .option("--job <job>", "only this job's (default: every job's)")
    .option("--since <time>", "from this time (ISO 8601) or this long ago (2h, 7d) (default: the first recorded)")
    .option("--limit <n>", "the newest N, 1 to 1000000 (default 1000)")
    .option("--json", "print JSON")
    .action(async (opts: { job?: string; since?: string; limit?: string; json?: boolean }) => set((await import("./commands/events.js")).eventsCommand(context(program), io, opts)));

  program
    .command("alerts")
    .description("alert tools")
    .command("test")
    .description("send a test event through each alert channel now and report each outcome")
    .option("--channel <name>", "only this channel (default: every channel)")
    .option("--json", "print JSON")
    .action(async (opts: { channel?: string; json?: boolean }) => set(await (await import("./commands/alerts-test.js")).alertsTestCommand(context(program), io, opts)));

  program
    .command("verify")
    .description("re-read copies and check them against the recorded sha256")
    .argument("[backup-id]")
    .option("--job <job>", "verify every backup of this job (default: every backup of every job)")
    .option("--target <target>", "only copies on this target (default: every target)")
    .option("--json", "print JSON")
    .action(async (id: string | undefined, opts: { job?: string; target?: string; json?: boolean }) =>
      set(await (await import("./commands/verify.js")).verifyCommand(context(program), io, id, opts)),
    );

  program
    .command("drill")
    .description("run a restore drill now: restore into a scratch place, check, measure, clean up")
    .argument("<job>")
    .option("--from <target>", "restore from this target, as drill.from in the config (default: the job's drill.from, else its offsite target)")
    // The earlier name; --from is the one restore, list and catalog use for the target read from.
    .addOption(new Option("--target <target>").hideHelp())
    .option("--json", "print JSON")
    .action(async (job: string, opts: { from?: string; target?: string; json?: boolean }) =>
      set(await (await import("./commands/drill.js")).drillCommand(context(program), io, job, { json: opts.json, target: opts.from ?? opts.target }, shutdown.signal)),
    );

  program
    .command("restore")
    .description("restore a backup into a new database or directory, checked against its manifest")
    .argument("<job>")
    .option("--backup <id>", "this backup (default: the newest that meets the policy)")
    .option("--at <time>", "the newest backup at or before this time (ISO 8601); postgres_cluster: the point to replay to, a time, an LSN (0/3000028), a restore point's name (pg_create_restore_point) or latest (default: now, latest)")
    .option("--timeline <id>", "postgres_cluster: replay along this timeline (decimal, as recovery_target_timeline; default: the latest that descends from the base backup's)")
    .option("--from <target>", "read from this target (default: a verified local copy, else offsite)")
    .option("--to-db <name>", "postgres, required: restore into this database (created; an existing non-empty one needs --clean)")
    .option("--to-dir <dir>", "files and postgres_cluster, required: restore into this new or empty directory")
    .option("--path <path...>", "files: only these paths as backed up (e.g. /etc/sysmanage/app.conf) and what lies below them (default: everything)")
    .option("--strip-prefix <dir>", "files: remove this leading directory from every restored path (default: the directory all the job's paths lie in, so /etc/sysmanage lands as DIR/sysmanage)")
    .option("--full-paths", "files: keep every path as backed up (DIR/etc/sysmanage/...)")
    .option("--numeric-owner", "files, as root: give files to the recorded user and group ids, not to the users and groups of those names here")
    .option("--database <name>", "postgres: which database of a multi-database backup (default: its only one)")
    .option("--key <file>", "private key (armored) for backups encrypted to a public key (default: none)")
    .option("--passphrase-file <file>", "passphrase for symmetrically encrypted backups, or the one that unlocks a protected --key (default: none)")
    .option("--clean", "postgres: replace the contents of an existing database")
    .option("--with-globals", "postgres: restore roles and tablespaces first")
    .option("--no-owner", "postgres: everything owned by the restoring role, privileges left out (needed when it cannot set the backup's owners)")
    .option("--no-privileges", "postgres: leave out GRANTs and REVOKEs")
    .option("--jobs <n>", "postgres: load in N sessions, every table's rows divided among them (default 1)")
    .option("--allow-unsigned", "restore a backup no trusted key signed (one made before signing), named with --backup or when the job has no signed backup; recorded")
    .option("--allow-untrusted-sql", "with --allow-unsigned, a database backup: run its SQL (a superuser's restore can run commands on the server)")
    .option("--dry-run", "make every check a real restore makes before writing (backup, key, target, destination), change nothing")
    .option("--check", "postgres_cluster: start the restored cluster on a scratch port, wait until recovery ends, report the point reached, stop it")
    .option("--json", "print JSON")
    .action(async (job: string, flags: RestoreFlags & { owner?: boolean; privileges?: boolean }) =>
      set(await (await import("./commands/restore.js")).restoreCommand(context(program), io, job, { ...flags, noOwner: flags.owner === false, noPrivileges: flags.privileges === false }, shutdown.signal)),
    );

  program
    .command("prune")
    .description("apply each target's retention now; prints the plan with a reason per backup")
    .option("--dry-run", "print the plan, delete nothing")
    .option("--job <job>", "only this job's backups (default: every job's)")
    .option("--json", "print JSON")
    .action(async (opts: { dryRun?: boolean; job?: string; json?: boolean }) => set(await (await import("./commands/prune.js")).pruneCommand(context(program), io, opts)));

  program
    .command("replicate")
    .description("write pending copies now (after an outage), without waiting for their retry time")
    .option("--job <job>", "only this job's backups (default: every job's)")
    .option("--json", "print JSON")
    .action(async (opts: { job?: string; json?: boolean }) => set(await (await import("./commands/replicate.js")).replicateCommand(context(program), io, opts)));

  program
    .command("catalog")
    .description("catalog tools")
    .command("rebuild")
    .description("add to the catalog every backup found on a target (after losing the server)")
    .requiredOption("--from <target>", "required: the target whose manifests to read")
    .option("--allow-unsigned", "also add backups whose manifests are not signed by a trusted key (made before signing); recorded")
    .option("--json", "print JSON")
    .action(async (opts: { from: string; json?: boolean; allowUnsigned?: boolean }) => {
      const { rebuildCatalog } = await import("../app/manifests.js");
      const result = await rebuildCatalog(context(program), opts.from, { allowUnsigned: opts.allowUnsigned ?? false });
      if (opts.json) io.out(JSON.stringify(result, null, 2));
      else {
        io.out(`catalog rebuilt from ${opts.from}: ${result.added} backup(s) added, ${result.copies} copy record(s) added, ${result.known} already known; run drctl verify --target ${opts.from} to re-read them`);
        for (const u of result.untrusted) io.err(`drctl: warning: ${u.id} is untrusted (${u.reason}): ${opts.allowUnsigned ? "added because --allow-unsigned was given" : "left out"}`);
        for (const i of result.invalid) io.err(`drctl: warning: ${i.id} is invalid (${i.reason}): left out`);
      }
      set(0);
    });

  program
    .command("audit")
    .description("audit trail tools")
    .command("verify")
    .description("check the audit trail's hash chain and that it still reaches the head the catalog and the signed manifests recorded; exit 3 where it breaks or was cut short")
    .option("--from <target>", "also compare with the newest signed manifest of each job on this target (when the catalog was lost; default: the catalog alone)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean; from?: string }) => {
      const { verifyTrail } = await import("../app/audit.js");
      const { path, compared, check } = await verifyTrail(context(program), opts.from ? { from: opts.from } : {});
      const against = compared.length ? `; it reaches what ${compared.join(", ")} recorded` : "";
      if (opts.json) io.out(JSON.stringify({ path, compared, ...check }, null, 2));
      else if (check.ok) io.out(`${path}: ${check.lines} line(s), the chain is whole${against}`);
      else io.err(`drctl: audit trail ${path} breaks at line ${check.line}: ${check.problem}`);
      set(check.ok ? 0 : 3);
    });

  program
    .command("init")
    .description("write a starting config (one encrypted files job), its encryption key pair and a signing key pair; say what to do next")
    .option("--dir <dir>", "where the config and keys/ go (default: the directory of --config, $DRD_CONFIG or /etc/drd/drd.yaml)")
    .option("--state-dir <dir>", "the config's state_dir", "/var/lib/drd")
    .option("--backup-dir <dir>", "the local target's path", "/var/backups/drd")
    .option("--user <name>", "as root: hand the keys, the state and backup directories and read access to the config to this user, the one the daemon runs as, e.g. drd (default: none; init prints the commands)")
    .option("--json", "print JSON")
    .action(async (opts: { dir?: string; stateDir: string; backupDir: string; user?: string; json?: boolean }) => {
      const { dirname } = await import("node:path");
      const dir = opts.dir ?? dirname(resolveConfigPath(program.opts().config));
      set(await (await import("./commands/init.js")).initCommand(io, { ...opts, dir }));
    });

  program
    .command("keys")
    .description("signing key tools")
    .command("init")
    .description("create the manifest signing key pair and say what to keep where")
    .option("--dir <dir>", "where to write the key files", "/etc/drd/keys")
    .action(async (opts: { dir: string }) => set(await (await import("./commands/keys-init.js")).keysInitCommand(io, opts.dir)));

  const wal = program.command("wal").description("WAL tools of postgres_cluster jobs");
  wal
    .command("push")
    .description("archive mode's archive_command, run by PostgreSQL as its OS user: hands one WAL file to the daemon and exits 0 once it is durable on the job's first target (reads no config)")
    .argument("<job>")
    .argument("<path>", "the WAL file (%p)")
    .option("--socket <path>", "the daemon's socket, as the job's wal.socket says (default /run/drd/wal/JOB.sock)")
    .option("--timeout <seconds>", "give up after this long (default 300)")
    .action(async (job: string, path: string, opts: { socket?: string; timeout?: string }) => {
      const { walPushMain } = await import("./wal-push.js");
      const args = [job, path, ...(opts.socket ? ["--socket", opts.socket] : []), ...(opts.timeout ? ["--timeout", opts.timeout] : [])];
      set(await walPushMain(args, io.err));
    });
  wal
    .command("setup")
    .description("check what a cluster job needs of its server (REPLICATION, wal_level, senders, pg_hba.conf, its slot, max_slot_wal_keep_size) and print the fix for each that falls short; --apply does what SQL can")
    .argument("<job>")
    .option("--apply", "as a superuser: ALTER ROLE ... REPLICATION, the slot, ALTER SYSTEM SET, pg_reload_conf(); then say what still waits (a restart, pg_hba.conf)")
    .option("--superuser-connection <url>", "with --apply: a superuser's libpq URL, without a password (default: the job's connection)")
    .option("--superuser-password-file <file>", "with --apply: the file holding that superuser's password (default: .pgpass or PGPASSWORD)")
    .option("--max-slot-wal-keep-size <size>", "with --apply: set max_slot_wal_keep_size to this (e.g. 10GB); default: left as it is, only advised")
    .option("--json", "print JSON")
    .action(async (job: string, opts: { json?: boolean; apply?: boolean; superuserConnection?: string; superuserPasswordFile?: string; maxSlotWalKeepSize?: string }) =>
      set(await (await import("./commands/wal-setup.js")).walSetupCommand(context(program), io, job, opts)),
    );

  const config = program.command("config").description("config tools");
  config
    .command("check")
    .description("validate the config and what it names (sources, keys, secret files, directories); print every problem with its path")
    .option("--online", "also connect: each PostgreSQL server and S3 bucket (no alert is sent: that is `alerts test`)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean; online?: boolean }) => set(await (await import("./commands/config-check.js")).configCheckCommand(io, resolveConfigPath(program.opts().config), opts)));

  try {
    await program.parseAsync(argv, { from: "node" });
  } catch (err) {
    if (err instanceof CommanderError) {
      exitCode = err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    } else {
      exitCode = interrupted(exitCodeOf(err));
      // A script that asked for JSON gets its errors as JSON too, on stdout where it reads.
      if (wantsJson) io.out(json({ error: describeError(err), exit_code: exitCode, ...(err instanceof ConfigError ? { problems: err.problems } : {}) }));
      else io.err(`drctl: ${describeError(err)}`);
      if (process.env.DRD_DEBUG && err instanceof Error && err.stack) io.err(err.stack);
    }
  } finally {
    // A run by hand, failed or not, changes objectives as a scheduled one does: evaluated,
    // and its alerts sent now (what cannot be delivered stays in the outbox for the daemon).
    if (ctx && CHANGES_OBJECTIVES.has(program.args[0] ?? "")) await settle(ctx, io);
    ctx?.catalog.close();
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
  return interrupted(exitCode);
}


