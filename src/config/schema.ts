import { DEFAULT_WAL_SOCKET_DIR } from "../wal/push-protocol.js";
import { z } from "zod";
import { cronProblem } from "./cron.js";
import { parseDuration } from "./duration.js";
import { channelName } from "./channel-name.js";
import { checkedUrl, httpUrl } from "./url.js";

/*
 * The config schema: one source for validation, the TypeScript types, the JSON Schema
 * for editors (config/drd.schema.json) and the documentation of every option.
 * Objects are strict: an unknown key is an error, because a misspelt option that is
 * silently ignored is a backup that silently does something else.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const name = (what: string) =>
  z.string().regex(NAME, { message: `${what} names use letters, digits, "_" and "-" (at most 63)` });

const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith("/"), { message: "must be an absolute path" });

/** A Unix socket's path must fit sockaddr_un (107 bytes and the terminating NUL). */
const walSocketPath = absolutePath.refine((p) => Buffer.byteLength(p) <= 107, { message: "is longer than a Unix socket path may be (107 bytes)" });

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, {
    error: (issue) => `invalid duration ${JSON.stringify(issue.input)} (write e.g. 90s, 15m, 1h, 30d)`,
  })
  .transform((s) => parseDuration(s)!)
  .meta({ description: "A duration: a whole number and a unit, s m h d or w (e.g. 15m, 30d)." });

const RATE_UNITS = { B: 1, KiB: 1024, MiB: 1024 * 1024 } as const;
const rate = z
  .string()
  .regex(/^[1-9][0-9]*(B|KiB|MiB)\/s$/, { message: "write a rate like 64KiB/s (units B, KiB, MiB)" })
  .transform((s) => {
    const [, n, unit] = /^([0-9]+)(B|KiB|MiB)\/s$/.exec(s)!;
    return Number(n) * RATE_UNITS[unit as keyof typeof RATE_UNITS];
  })
  .meta({ description: "A rate in bytes per second: a whole number and a unit, e.g. 64KiB/s, 1MiB/s." });

const cron = z
  .string()
  .superRefine((expr, ctx) => {
    const problem = cronProblem(expr);
    if (problem) ctx.addIssue({ code: "custom", message: `invalid cron expression ${JSON.stringify(expr)}: ${problem}` });
  })
  .meta({ description: "A cron expression in `timezone`: five fields (minute hour day-of-month month day-of-week), six with a leading seconds field, or @hourly, @daily, @weekly, @monthly, @yearly. With both day fields restricted, a day matching either runs (as Vixie cron)." });

const retention = z
  .strictObject({
    max_age: duration.optional().meta({ description: "Remove backups older than this, measured from the newest good backup (not from now)." }),
    keep_last: z.int().min(0).optional().meta({ description: "Always keep this many newest backups." }),
    keep_hourly: z.int().min(0).optional().meta({ description: "Keep the newest backup of each of this many hours." }),
    keep_daily: z.int().min(0).optional().meta({ description: "Keep the newest backup of each of this many days." }),
    keep_weekly: z.int().min(0).optional().meta({ description: "Keep the newest backup of each of this many ISO weeks." }),
    keep_monthly: z.int().min(0).optional().meta({ description: "Keep the newest backup of each of this many months." }),
    keep_yearly: z.int().min(0).optional().meta({ description: "Keep the newest backup of each of this many years." }),
  })
  .refine((r) => Object.values(r).some((v) => v !== undefined), {
    message: "retention needs at least one rule (an empty policy would remove every backup)",
  })
  .meta({ description: "Retention on this target. The rules are ORed: a backup any rule keeps is kept. Without it, the target keeps everything." });

const targetCommon = {
  media: z.string().min(1).meta({ description: "Media kind (disk, cloud, tape, ...), for the 3-2-1 count of distinct media." }),
  offsite: z.boolean().meta({ description: "Whether this target is off the site of the protected server." }),
  retention: retention.optional(),
};

const localTarget = z
  .strictObject({
    type: z.literal("local"),
    path: absolutePath.meta({ description: "Directory that holds the backups (created 0700)." }),
    media: targetCommon.media.default("disk"),
    offsite: targetCommon.offsite.default(false),
    retention: targetCommon.retention,
  })
  .meta({ description: "A directory on a local or mounted file system." });

const s3Target = z
  .strictObject({
    type: z.literal("s3"),
    bucket: z.string().min(3).meta({ description: "Bucket name." }),
    prefix: z.string().default("").meta({ description: "Key prefix inside the bucket, e.g. `drd/`." }),
    region: z.string().min(1).default("us-east-1").meta({ description: "The bucket's region." }),
    endpoint: httpUrl.optional().meta({ description: "Endpoint of an S3-compatible store; omit for AWS." }),
    force_path_style: z.boolean().optional().meta({ description: "Address buckets as endpoint/bucket rather than bucket.endpoint; default true when `endpoint` is set." }),
    storage_class: z.string().optional().meta({ description: "Storage class for new objects, e.g. STANDARD_IA." }),
    server_side_encryption: z
      .strictObject({
        algorithm: z.enum(["AES256", "aws:kms"]).meta({ description: "AES256 (keys the store manages) or aws:kms (a KMS key)." }),
        kms_key_id: z.string().optional().meta({ description: "aws:kms: the KMS key (id, ARN or alias); default the store's default key." }),
      })
      .optional()
      .meta({ description: "Server-side encryption requested on upload." }),
    object_lock: z
      .strictObject({
        mode: z.enum(["GOVERNANCE", "COMPLIANCE"]).meta({ description: "Object Lock mode: GOVERNANCE (privileged users may lift it) or COMPLIANCE (nobody may)." }),
        days: z.int().min(1).meta({ description: "Each object is locked for this many days from its upload." }),
      })
      .optional()
      .meta({ description: "S3 Object Lock retention applied to every uploaded object." }),
    access_key_id_file: absolutePath.optional().meta({ description: "File holding the access key id; omit to use the standard AWS credential chain." }),
    secret_access_key_file: absolutePath.optional().meta({ description: "File holding the secret access key." }),
    connect_timeout: duration.prefault("10s").meta({ description: "How long connecting to the store may take before the request counts as failed." }),
    stall_timeout: duration
      .prefault("60s")
      .meta({ description: "A request on which no byte moved for this long counts as failed (the copy is retried later, like any outage)." }),
    min_rate: rate
      .prefault("64KiB/s")
      .meta({ description: "Slowest transfer that counts as alive, e.g. `64KiB/s`: a request of N bytes that has not finished after connect_timeout + stall_timeout + N / min_rate counts as hung." }),
    checksums: z
      .enum(["when_required", "when_supported"])
      .default("when_required")
      .meta({ description: "SDK request/response checksums. `when_required` works with every S3-compatible store; drd verifies sha256 itself." }),
    media: targetCommon.media.default("cloud"),
    offsite: targetCommon.offsite.default(true),
    retention: targetCommon.retention,
  })
  .meta({ description: "An S3 or S3-compatible bucket." });

const target = z.discriminatedUnion("type", [localTarget, s3Target]);

const compressionAlgorithm = z.enum(["zstd", "gzip", "none"]);
const compression = z
  .union([
    compressionAlgorithm.transform((algorithm) => ({ algorithm, level: undefined })),
    z.strictObject({
      algorithm: compressionAlgorithm.meta({ description: "zstd, gzip or none." }),
      level: z.int().min(1).max(19).optional().meta({ description: "Compression level: zstd 1-19 (default 1), gzip 1-9 (default 6)." }),
    }),
  ])
  .superRefine((c, ctx) => {
    if (c.algorithm === "gzip" && c.level !== undefined && c.level > 9)
      ctx.addIssue({ code: "custom", path: ["level"], message: "gzip levels are 1 to 9" });
  })
  .meta({ description: "zstd (default, level 1: keeps pace with pg_dump; 1-19), gzip (level 1-9) or none." });

const encrypt = z
  .union([
    z.strictObject({
      recipients: z.array(absolutePath).min(1).meta({ description: "Armored OpenPGP public key files; the host needs no private key." }),
    }),
    z.strictObject({
      passphrase_file: absolutePath.meta({ description: "File holding a passphrase for symmetric encryption." }),
    }),
  ])
  .meta({ description: "OpenPGP encryption of every artifact, in a format GnuPG 2.2 decrypts." });

const drillCheck = z.union([
  z.strictObject({ sql: z.string().min(1).meta({ description: "A query that must return true." }) }),
  z.strictObject({ command: z.array(z.string()).min(1).meta({ description: "A command that must exit 0; run in the restored directory." }) }),
]);

const drill = z
  .strictObject({
    schedule: cron.optional(),
    from: name("target").optional().meta({ description: "Target the drill restores from; default the job's first offsite target." }),
    connection: z.string().optional().meta({ description: "postgres jobs: server where scratch databases are created; default the job's server." }),
    jobs: z.int().min(1).max(64).optional().meta({ description: "postgres jobs: sessions the drill loads with, as `drctl restore --jobs`; default 1." }),
    checks: z.array(drillCheck).default([]).meta({ description: "Checks the restored copy must pass for the drill to succeed: each a `sql` query or a `command`." }),
    max_age: duration.optional().meta({ description: "RTO is in breach without a good drill this recent." }),
    key_file: absolutePath.optional().meta({ description: "Private key that decrypts this job's backups (only on a drill host, or by explicit choice)." }),
    key_passphrase_file: absolutePath
      .optional()
      .meta({ description: "File holding the passphrase that unlocks key_file, when that key is protected (recommended for a key kept off the server). Not the job's symmetric passphrase_file." }),
    passphrase_file: absolutePath.optional().meta({ description: "Passphrase file for symmetrically encrypted backups." }),
  })
  .meta({ description: "Scheduled restore drills." });

const jobCommon = {
  schedule: cron,
  rpo: duration.meta({ description: "Recovery point objective: the newest backup that meets the policy must be younger." }),
  rto: duration.optional().meta({ description: "Recovery time objective, compared with the duration of the newest good drill." }),
  targets: z.array(name("target")).min(1).meta({ description: "Targets every backup of this job is written to." }),
  compression: compression.prefault("zstd"),
  encrypt: encrypt.optional(),
  drill: drill.optional(),
};

const connection = checkedUrl(
  () => "must be a postgresql:// URL",
  (url) => [
    ...(url.protocol !== "postgresql:" && url.protocol !== "postgres:" ? ["must be a postgresql:// URL"] : []),
    ...(url.password || url.searchParams.has("password") ? ["must not contain a password; use password_file or .pgpass"] : []),
  ],
).meta({ description: "libpq URL without a password, e.g. postgresql://drd@localhost/app." });

const postgresJob = z
  .strictObject({
    type: z.literal("postgres"),
    connection,
    databases: z
      .union([z.literal("all"), z.array(z.string().min(1)).min(1)])
      .optional()
      .meta({ description: "Databases to dump: a list, or `all` non-template databases; default the database of `connection`." }),
    globals: z.boolean().default(true).meta({ description: "Also dump roles and tablespaces with pg_dumpall --globals-only." }),
    password_file: absolutePath.optional().meta({ description: "File holding the password; otherwise .pgpass or peer auth." }),
    ...jobCommon,
  })
  .meta({ description: "pg_dump -Fc of each database." });

const filesJob = z
  .strictObject({
    type: z.literal("files"),
    paths: z.array(absolutePath).min(1).meta({ description: "Directories and files to archive." }),
    exclude: z.array(z.string().min(1)).default([]).meta({ description: "Globs matched against each path and each base name." }),
    skip_unreadable: z.boolean().default(false).meta({ description: "Skip and record unreadable files instead of failing the run." }),
    ...jobCommon,
  })
  .meta({ description: "A tar archive of files; symlinks stay symlinks." });

const postgresClusterJob = z
  .strictObject({
    type: z.literal("postgres_cluster"),
    connection: connection.meta({ description: "libpq URL of a role with REPLICATION (and pg_monitor), without a password." }),
    password_file: absolutePath.optional().meta({ description: "File holding the password; otherwise .pgpass or peer auth." }),
    wal: z
      .discriminatedUnion("mode", [
        z.strictObject({ mode: z.literal("stream").meta({ description: "stream: pg_receivewal and a replication slot drd creates." }) }),
        z.strictObject({
          mode: z.literal("archive").meta({ description: "archive: the server's archive_command (`drctl wal push JOB %p`) hands each WAL file to the daemon over a local socket; no slot." }),
          socket: walSocketPath
            .optional()
            .meta({
              description: `The daemon's socket for \`drctl wal push\` (default ${DEFAULT_WAL_SOCKET_DIR}/JOB.sock); give the same path to \`drctl wal push --socket\`.`,
              examples: [`${DEFAULT_WAL_SOCKET_DIR}/cluster.sock`],
            }),
        }),
      ])
      .default({ mode: "stream" })
      .meta({ description: "How the write-ahead log reaches the targets." }),
    pitr_window: duration
      .optional()
      .meta({ description: "How far back any moment must stay restorable (e.g. 7d): on each target, retention keeps every base backup consistent within it and the newest one before it, whatever its rules say, and the WAL from there on." }),
    ...jobCommon,
  })
  .meta({ description: "Physical base backups of a whole PostgreSQL cluster (pg_basebackup -Ft -X none), for point-in-time recovery with its WAL." });

const job = z.discriminatedUnion("type", [postgresJob, filesJob, postgresClusterJob]);

export const ALERT_EVENTS = [
  "rpo_breach",
  "rpo_recovered",
  "rto_breach",
  "rto_recovered",
  "backup_failed",
  "backup_recovered",
  "copy_failed",
  "policy_violation",
  "verify_failed",
  "drill_failed",
  "clock_skew",
  "wal_failed",
  "wal_recovered",
  "wal_slot_lost",
  "wal_cluster_changed",
] as const;

const alertCommon = {
  name: name("alert").optional().meta({ description: "The channel's identity (`drctl alerts test --channel`, its waiting alerts); default its type and a hash of its destination, e.g. `webhook-3f2a9c1e`." }),
  events: z.array(z.enum(ALERT_EVENTS)).min(1).optional().meta({ description: "Only these events; default all." }),
  jobs: z.array(name("job")).min(1).optional().meta({ description: "Only events of these jobs; default all." }),
  timeout: duration.prefault("10s").meta({ description: "How long one delivery may take before it counts as failed (retried with backoff)." }),
};

const trustKey = z
  .union([
    absolutePath,
    z.string().regex(/^[0-9A-Fa-f ]{40,}$/, { message: "must be a public key file (absolute path) or a key fingerprint (40 hex digits)" }),
  ])
  .meta({ description: "A public key file (absolute path), or the fingerprint (40 hex digits) of `signing`'s key." });

/** A point in time: ISO 8601 (2026-12-01 or 2026-12-01T00:00:00Z); kept as ms since the epoch. */
const instant = z
  .union([z.string(), z.date()])
  .transform((v, ctx) => {
    const ms = v instanceof Date ? v.getTime() : Date.parse(v);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: `not a time: ${JSON.stringify(v)} (write e.g. 2026-12-01T00:00:00Z)` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: "A time, ISO 8601: 2026-12-01 or 2026-12-01T00:00:00Z." });

const alert = z.discriminatedUnion("type", [
  z
    .strictObject({
      type: z.literal("webhook"),
      url: httpUrl,
      headers_file: absolutePath.optional().meta({ description: "File of `Name: value` lines sent as headers (e.g. Authorization)." }),
      secret_file: absolutePath.optional().meta({ description: "File holding a secret: each POST then carries X-Drd-Signature: sha256=<HMAC-SHA256 of the body>." }),
      ...alertCommon,
    })
    .meta({ description: "A JSON POST: event, job, severity, message, details, timestamp, host." }),
  z
    .strictObject({
      type: z.literal("command"),
      command: z.array(z.string()).min(1).meta({ description: "The program and its arguments (no shell)." }),
      ...alertCommon,
    })
    .meta({ description: "A command run with the event as JSON on stdin and DRD_EVENT, DRD_JOB, DRD_SEVERITY, DRD_MESSAGE set; it must exit 0." }),
  z
    .strictObject({
      type: z.literal("email"),
      smtp: z
        .strictObject({
          host: z.string().min(1).meta({ description: "The SMTP server." }),
          port: z.int().min(1).max(65535).default(587).meta({ description: "Its port: 587 (submission, STARTTLS) or 465 (TLS)." }),
          secure: z.boolean().optional().meta({ description: "TLS from the start (port 465); default: true on 465, else STARTTLS when offered." }),
          user: z.string().optional().meta({ description: "User to log in as; without it, mail is sent without logging in." }),
          password_file: absolutePath.optional().meta({ description: "File holding the user's password." }),
          require_tls: z.boolean().default(true).meta({ description: "Refuse to send without TLS (STARTTLS). Set false only for a relay on the same host." }),
        })
        .meta({ description: "The SMTP server mail goes through." }),
      from: z.string().min(3).default("drd@localhost").meta({ description: "The sender address." }),
      to: z.array(z.string().min(3)).min(1).meta({ description: "Recipient addresses." }),
      ...alertCommon,
    })
    .meta({ description: "Mail through an SMTP server." }),
]);

export const configSchema = z
  .strictObject({
    state_dir: absolutePath.default("/var/lib/drd").meta({ description: "Holds catalog.sqlite and run state (created 0700)." }),
    timezone: z
      .string()
      .default("UTC")
      .refine((tz) => isTimeZone(tz), { message: "unknown time zone" })
      .meta({ description: "Time zone of schedules and of retention's calendar buckets." }),
    role: z
      .enum(["server", "drills"])
      .default("server")
      .meta({
        description:
          "What this host does with the config. server: everything (backups, WAL, prune, copies, drills). drills: a drill host with the same config and its own state_dir: it only runs each job's drill on its drill.schedule from the targets, records and alerts on them; it never takes backups, touches replication slots or WAL, prunes or copies, and does not measure RPO (status says not_measured). `drctl daemon --drills-only` sets it for the daemon.",
      }),
    targets: z
      .record(name("target"), target)
      .refine((t) => Object.keys(t).length > 0, { message: "at least one target is required" })
      .meta({ description: "Where backups go, by name: each backup is written to every target its job lists." }),
    policy: z
      .strictObject({
        copies: z.int().min(1).max(100).default(2).meta({ description: "Verified backup copies required (production is not counted); at most as many as there are targets." }),
        media: z.int().min(1).max(100).default(2).meta({ description: "Distinct media kinds among those copies." }),
        offsite: z.int().min(0).max(100).default(1).meta({ description: "Offsite copies among them." }),
      })
      .default({ copies: 2, media: 2, offsite: 1 })
      .meta({ description: "The 2-1 of 3-2-1." }),
    jobs: z.record(name("job"), job).meta({ description: "What is backed up, by name: each job has a type, a schedule, an RPO and its targets." }),
    signing: z
      .strictObject({
        key_file: absolutePath.meta({ description: "Private OpenPGP key (0600) that signs every manifest; `drctl keys init` makes one. It only vouches for what this server wrote: it decrypts nothing." }),
      })
      .optional()
      .meta({ description: "Manifest signing: readers accept a backup from a target only when its manifest is signed by a key in `trust`." }),
    trust: z
      .array(
        z.union([
          trustKey,
          z
            .strictObject({
              key: trustKey,
              jobs: z.array(name("job")).min(1).optional().meta({ description: "Accept its signatures only on these jobs' backups. Default: every job." }),
              targets: z
                .array(name("target"))
                .min(1)
                .optional()
                .meta({ description: "Accept its signatures only on backups read from these targets (each its own bucket prefix or path): with several servers' keys trusted, one server's genuine backup copied under another's prefix is refused. Default: every target." }),
              from: instant.optional().meta({ description: "Accept its signatures only on backups made at or after this time (a new key's first day)." }),
              until: instant.optional().meta({ description: "Accept its signatures only on backups made before this time (a retired key: it stays trusted for what it signed)." }),
            })
            .meta({ description: "A trusted key with limits: the jobs it may sign for, the time it signed in." }),
        ]),
      )
      .min(1)
      .optional()
      .meta({ description: "Public key files (or the fingerprint of `signing`'s key) whose manifest signatures restores, drills, `list --from` and `catalog rebuild` accept, each for every job and time or limited (jobs, from, until). Default: the key of `signing`." }),
    audit: z
      .strictObject({ path: absolutePath.meta({ description: "The audit trail file (JSON lines, 0600); default state_dir/audit.jsonl." }) })
      .optional()
      .meta({ description: "Where the audit trail goes: every restore, drill, prune deletion, verify failure, catalog rebuild and key use, hash-chained." }),
    alerts: z.array(alert).default([]).meta({ description: "Where events go. Every delivery passes through an outbox in the catalog and is retried with backoff." }),
    renotify: duration.prefault("4h").meta({ description: "While a breach or a run of failures stays open, notify again this often." }),
    alert_expiry: duration
      .prefault("7d")
      .meta({ description: "An alert a channel could not take within this long is dropped, with an alert_dropped event (counted on the metrics page)." }),
    clock_skew_allowance: duration
      .prefault("5m")
      .meta({ description: "A backup dated more than this ahead of the clock is flagged (clock_skew) and kept, and never defines the RPO nor anchors retention until the clock passes it." }),
    heartbeat: z
      .strictObject({
        url: httpUrl.meta({ description: "Called every minute while every job meets its objectives; its `/fail` form when one does not." }),
        timeout: duration.prefault("10s").meta({ description: "How long one call may take before it counts as failed." }),
      })
      .optional()
      .meta({ description: "A dead man's switch (healthchecks.io, Uptime Kuma push): silence means drd is down." }),
    metrics: z
      .strictObject({
        listen: z
          .string()
          .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, { message: "must be host:port, e.g. 127.0.0.1:9464" })
          .refine((l) => Number(l.slice(l.lastIndexOf(":") + 1)) <= 65535, { message: "the port must be from 0 to 65535" })
          .default("127.0.0.1:9464")
          .meta({ description: "Where the daemon serves Prometheus metrics (GET /metrics)." }),
        allow_remote: z.boolean().default(false).meta({ description: "Allow a listen address other than loopback: the page names jobs, targets and hosts." }),
      })
      .refine((m) => m.allow_remote || isLoopback(m.listen), { path: ["listen"], message: "is not a loopback address: set allow_remote: true to serve metrics beyond this host" })
      .optional()
      .meta({ description: "Prometheus metrics from the catalog and the objectives' states, served by the daemon." }),
  })
  .superRefine((config, ctx) => {
    const { copies, media, offsite } = config.policy;
    if (media > copies) ctx.addIssue({ code: "custom", path: ["policy", "media"], message: `is ${media}, more than the ${copies} copies required` });
    if (offsite > copies) ctx.addIssue({ code: "custom", path: ["policy", "offsite"], message: `is ${offsite}, more than the ${copies} copies required` });
    for (const [jobName, j] of Object.entries(config.jobs)) {
      j.targets.forEach((t, i) => {
        if (!(t in config.targets))
          ctx.addIssue({ code: "custom", path: ["jobs", jobName, "targets", i], message: `unknown target "${t}"` });
      });
      if (new Set(j.targets).size !== j.targets.length)
        ctx.addIssue({ code: "custom", path: ["jobs", jobName, "targets"], message: "a target is listed twice" });
      if (j.drill?.from && !j.targets.includes(j.drill.from))
        ctx.addIssue({ code: "custom", path: ["jobs", jobName, "drill", "from"], message: `"${j.drill.from}" is not one of this job's targets` });
      if (j.type === "postgres_cluster" && j.drill?.connection !== undefined)
        ctx.addIssue({ code: "custom", path: ["jobs", jobName, "drill", "connection"], message: "is for postgres jobs: a cluster job's drill restores the whole cluster into a scratch data directory and starts it there" });
      if (j.drill?.jobs !== undefined && j.type !== "postgres")
        ctx.addIssue({ code: "custom", path: ["jobs", jobName, "drill", "jobs"], message: "is for postgres jobs: a files drill extracts one stream" });
      if (j.drill?.key_file && j.drill.passphrase_file)
        ctx.addIssue({ code: "custom", path: ["jobs", jobName, "drill"], message: "give key_file or passphrase_file, not both" });
      if (j.drill?.key_passphrase_file && !j.drill.key_file)
        ctx.addIssue({ code: "custom", path: ["jobs", jobName, "drill", "key_passphrase_file"], message: "unlocks key_file: give key_file too" });
    }
    config.trust?.forEach((t, i) => {
      if (typeof t === "string") return;
      t.jobs?.forEach((j, k) => {
        if (!(j in config.jobs)) ctx.addIssue({ code: "custom", path: ["trust", i, "jobs", k], message: `unknown job "${j}"` });
      });
      t.targets?.forEach((n, k) => {
        if (!(n in config.targets)) ctx.addIssue({ code: "custom", path: ["trust", i, "targets", k], message: `unknown target "${n}"` });
      });
      if (t.from !== undefined && t.until !== undefined && t.from >= t.until) ctx.addIssue({ code: "custom", path: ["trust", i, "until"], message: "must be after from" });
    });
    const names = new Set<string>();
    config.alerts.forEach((a, i) => {
      a.jobs?.forEach((j, k) => {
        if (!(j in config.jobs)) ctx.addIssue({ code: "custom", path: ["alerts", i, "jobs", k], message: `unknown job "${j}"` });
      });
      const n = channelName(a);
      if (names.has(n))
        ctx.addIssue({ code: "custom", path: ["alerts", i, "name"], message: a.name ? `another alert is named "${n}"` : "another alert delivers to the same place: name one of them (name:)" });
      names.add(n);
    });
  });

function isLoopback(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(":")).replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isTimeZone(tz: string): boolean {
  // The default needs no check: the first time-zone lookup loads ICU's zone data (30 ms of every command's start).
  if (tz === "UTC") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export type Config = z.output<typeof configSchema>;
export type TargetConfig = Config["targets"][string];
export type LocalTargetConfig = Extract<TargetConfig, { type: "local" }>;
export type S3TargetConfig = Extract<TargetConfig, { type: "s3" }>;
export type JobConfig = Config["jobs"][string];
export type PostgresJobConfig = Extract<JobConfig, { type: "postgres" }>;
export type FilesJobConfig = Extract<JobConfig, { type: "files" }>;
export type ClusterJobConfig = Extract<JobConfig, { type: "postgres_cluster" }>;
export type CompressionConfig = JobConfig["compression"];
export type EncryptConfig = NonNullable<JobConfig["encrypt"]>;
export type RetentionConfig = NonNullable<TargetConfig["retention"]>;
export type AlertConfig = Config["alerts"][number];
export type AlertEvent = (typeof ALERT_EVENTS)[number];
