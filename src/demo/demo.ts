import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, chownSync, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { execa } from "execa";
import { generateEncryptionKey, generateSigningKey } from "../trust/signing.js";
import { demoConfig, type DemoPace } from "./config.js";
import { SAMPLE_SQL, writeSampleCertificates, writeSampleConfig } from "./data.js";
import { freePort, psql, startCluster, stopServer, type Cluster } from "./postgres.js";
import { AlertReceiver, type ReceivedAlert } from "./receiver.js";
import { endpoint, S3Server } from "./s3.js";

/** The account the daemon runs as: drd refuses root, so root's demo runs it as `nobody`. */
export interface DaemonUser {
  name: string;
  uid: number;
  gid: number;
}

const BUCKET = "drd-demo";
const PIDS = "pids.json";
const DAEMON_STOP_MS = 30_000;
const COMMAND_MS = 60_000;

/** What `drctl status --json` says of one job, as far as the demo reads it. */
interface JobStatus {
  job: string;
  rpo_state: string;
  policy_ok: boolean | null;
  copies: { target: string; state: string }[];
  last_drill: { ok: boolean; duration_seconds: number } | null;
}

/**
 * One running demo: every part it started, stopped and removed by `stop()` in the reverse
 * order, whatever step set-up reached.
 */
export class Demo {
  readonly root: string;
  readonly home: string;
  readonly config: string;
  /** A drctl for this demo's config, run as the daemon's user. */
  readonly drctl: string;
  readonly log: string;
  cluster: Cluster | undefined;
  /** Where the daemon serves its Prometheus metrics. */
  metricsPort = 0;
  private s3: S3Server | undefined;
  private receiver: AlertReceiver | undefined;
  private daemon: ChildProcess | undefined;
  private daemonExit: Promise<unknown[]> | undefined;
  private stopping = false;

  constructor(
    private readonly program: string,
    private readonly user: DaemonUser | undefined,
    private readonly say: (line: string) => void,
    parent = tmpdir(),
  ) {
    this.root = mkdtempSync(join(parent, "drd-demo-"));
    // Other users pass through: PostgreSQL runs as postgres, the daemon as its user.
    chmodSync(this.root, 0o755);
    this.home = join(this.root, "drd");
    this.config = join(this.home, "drd.yaml");
    this.drctl = join(this.root, "drctl");
    this.log = join(this.root, "daemon.log");
    this.recordPids();
  }

  /** Who runs for this demo, so that a demo killed outright is cleaned up by the next one (removeAbandoned). */
  private recordPids(): void {
    writeFileSync(join(this.root, PIDS), JSON.stringify({ demo: process.pid, daemon: this.daemon?.pid ?? null }));
  }

  private starting: Promise<void> | undefined;

  /** Starts every part and the daemon on them; a stop meanwhile waits for it, then removes all it made. */
  start(pace: DemoPace, onAlert: (a: ReceivedAlert) => void): Promise<void> {
    this.starting = this.startParts(pace, onAlert);
    return this.starting;
  }

  private async startParts(pace: DemoPace, onAlert: (a: ReceivedAlert) => void): Promise<void> {
    const started = new Date();
    mkdirSync(this.home, { mode: 0o700 });
    const sources = join(this.root, "sources");
    const configDir = join(sources, "app-config");
    const certsDir = join(sources, "certs");
    writeSampleConfig(configDir);
    writeSampleCertificates(certsDir);

    this.cluster = await startCluster(this.root);
    await psql(this.cluster, "postgres", "create database shop");
    await psql(this.cluster, "shop", SAMPLE_SQL);
    this.s3 = await new S3Server(join(this.root, "s3")).start(0, [BUCKET]);
    this.receiver = new AlertReceiver(onAlert);
    const receiverUrl = await this.receiver.start();

    const keys = join(this.home, "keys");
    mkdirSync(keys, { mode: 0o700 });
    const [recipient, signing] = await Promise.all([generateEncryptionKey("drd demo backups"), generateSigningKey("drd demo signing")]);
    writeFileSync(join(keys, "backup-public.asc"), recipient.publicKey, { mode: 0o644 });
    writeFileSync(join(keys, "backup-secret.asc"), recipient.privateKey, { mode: 0o600 });
    writeFileSync(join(keys, "signing-secret.asc"), signing.privateKey, { mode: 0o600 });
    writeFileSync(join(keys, "signing-public.asc"), signing.publicKey, { mode: 0o644 });
    // s3rver takes any key; the files are there because drd reads credentials from files.
    writeFileSync(join(this.home, "s3-access-key-id"), "S3RVER\n", { mode: 0o600 });
    writeFileSync(join(this.home, "s3-secret-access-key"), "S3RVER\n", { mode: 0o600 });
    const text = demoConfig(
      {
        home: this.home,
        configDir,
        certsDir,
        databaseUrl: this.cluster.url("shop"),
        drillUrl: this.cluster.url("postgres"),
        clusterUrl: this.cluster.url("postgres"),
        s3Endpoint: endpoint(this.s3.port),
        bucket: BUCKET,
        receiverUrl,
        metricsPort: (this.metricsPort = await freePort()),
      },
      pace,
      started,
    );
    writeFileSync(this.config, text, { mode: 0o600 });
    const runAs = this.user ? `runuser -u ${this.user.name} -- ` : "";
    writeFileSync(this.drctl, `#!/bin/sh\n# drctl on the demo's config${this.user ? `, as ${this.user.name} (the daemon's user)` : ""}.\nexec ${runAs}${this.program} --config ${this.config} "$@"\n`, { mode: 0o755 });
    if (this.user) for (const dir of [this.home, sources]) chownTree(dir, this.user);

    const log = createWriteStream(this.log, { mode: 0o644 });
    this.daemon = spawn(this.program, ["daemon", "--config", this.config], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(this.user ? { uid: this.user.uid, gid: this.user.gid } : {}),
      env: { ...process.env, DRD_LOG_LEVEL: "info" },
    });
    this.daemonExit = once(this.daemon, "exit");
    this.recordPids();
    this.daemon.stderr!.pipe(log, { end: false });
    this.daemon.stdout!.pipe(log, { end: false });
    createInterface({ input: this.daemon.stdout! }).on("line", (line) => {
      const told = narrate(line);
      if (told) this.say(told);
    });
    void this.daemonExit.then(([code, signal]) => {
      log.end(() => {
        if (!this.stopping) this.say(`the daemon stopped (${signal ?? `exit ${code}`}): ${lastLine(this.log)}; its log: ${this.log}`);
      });
    });
  }

  /** Whom the demo's drctl runs as, when not whoever calls it. */
  get runsAs(): string | undefined {
    return this.user?.name;
  }

  /** Runs drctl on the demo's config as the daemon's user. */
  async run(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const r = await execa(this.program, ["--config", this.config, ...args], {
      reject: false,
      timeout: COMMAND_MS,
      ...(this.user ? { uid: this.user.uid, gid: this.user.gid } : {}),
    });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  async status(): Promise<JobStatus[]> {
    const r = await this.run(["status", "--json"]);
    if (!r.stdout.startsWith("[")) return [];
    return JSON.parse(r.stdout) as JobStatus[];
  }

  /** Waits until every job is backed up to both targets within its RPO and has passed a drill; the jobs not yet there when `ms` ran out. */
  async waitUntilGreen(ms: number): Promise<string[]> {
    const deadline = Date.now() + ms;
    let behind: string[] = ["(no status yet)"];
    while (Date.now() < deadline && !this.stopping) {
      behind = notGreen(await this.status());
      if (behind.length === 0) return [];
      await sleep(2_000);
    }
    return behind;
  }

  /** The outage: the sample database refuses every connection (pg_dump's included) until `reopen`. */
  async closeDatabase(): Promise<void> {
    await psql(this.cluster!, "postgres", "alter database shop allow_connections false");
  }

  async reopenDatabase(): Promise<void> {
    await psql(this.cluster!, "postgres", "alter database shop allow_connections true");
  }

  waitForAlert(event: string, job: string, ms: number): Promise<ReceivedAlert | undefined> {
    return this.receiver!.waitFor((a) => a.event === event && a.job === job, ms);
  }

  /** Stops the daemon, the servers and the receiver, and removes every file the demo made. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Parts still starting (a Ctrl-C in the first seconds) are stopped once they exist.
    await this.starting?.catch(() => undefined);
    if (this.daemon && this.daemon.exitCode === null && this.daemon.signalCode === null) {
      this.daemon.kill("SIGTERM");
      const stopped = await Promise.race([this.daemonExit!.then(() => true), sleep(DAEMON_STOP_MS).then(() => false)]);
      if (!stopped) {
        this.daemon.kill("SIGKILL");
        await this.daemonExit;
      }
    }
    await this.receiver?.stop().catch(() => undefined);
    await this.s3?.stop().catch(() => undefined);
    await this.cluster?.stop().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * What demos killed outright (SIGKILL, a closed terminal) left in `parent`: their daemon is
 * stopped, their PostgreSQL too, and their directory removed. Returns the directories removed.
 */
export async function removeAbandoned(parent = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(parent).filter((n) => n.startsWith("drd-demo-"))) {
    const root = join(parent, name);
    let pids: { demo: number; daemon: number | null };
    try {
      pids = JSON.parse(readFileSync(join(root, PIDS), "utf8")) as typeof pids;
    } catch {
      continue; // not a demo's, or one still being made
    }
    if (alive(pids.demo)) continue;
    if (pids.daemon !== null && cmdline(pids.daemon).includes(root)) process.kill(pids.daemon, "SIGKILL");
    for (const pg of readdirSync(root).filter((n) => n.startsWith("drd-pg-"))) await stopServer(join(root, pg, "data"));
    rmSync(root, { recursive: true, force: true });
    removed.push(root);
  }
  return removed;
}

/** A process's command line, "" when it is gone. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why each job is not yet green (empty when all are): a backup on both targets within the RPO, the policy met, a passed drill. */
export function notGreen(jobs: JobStatus[]): string[] {
  if (jobs.length === 0) return ["(no jobs in status)"];
  return jobs.flatMap((j) => {
    const why: string[] = [];
    if (j.rpo_state !== "ok") why.push(`RPO ${j.rpo_state}`);
    if (j.policy_ok !== true) why.push("policy not met");
    const unverified = j.copies.filter((c) => c.state !== "verified").map((c) => c.target);
    if (j.copies.length < 2 || unverified.length > 0) why.push(`copies: ${j.copies.map((c) => `${c.target} ${c.state}`).join(", ") || "none"}`);
    if (!j.last_drill?.ok) why.push(j.last_drill ? "last drill failed" : "no drill yet");
    return why.length ? [`${j.job}: ${why.join("; ")}`] : [];
  });
}

/** A short line for the daemon's log lines a person watching wants to see; undefined for the rest. */
export function narrate(line: string): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const job = String(entry.job ?? "");
  switch (entry.msg) {
    case "backup done": {
      const copies = Array.isArray(entry.copies) ? (entry.copies as { target: string; state: string }[]) : [];
      const kb = Math.max(1, Math.round(Number(entry.bytes ?? 0) / 1024));
      return `backup of ${job}: ${kb} KiB in ${(Number(entry.ms ?? 0) / 1000).toFixed(1)} s, ${copies.map((c) => `${c.target} ${c.state}`).join(", ")}`;
    }
    case "backup failed":
      return `backup of ${job} FAILED: ${String(entry.error ?? "")}`;
    case "drill done":
      return entry.ok
        ? `drill of ${job} passed: restored from ${String(entry.from)} and checked in ${seconds(Number(entry.seconds))} s (the measured RTO)`
        : `drill of ${job} FAILED: ${String(entry.error ?? "")}`;
    default:
      return undefined;
  }
}

/** The daemon's user: `nobody` when this runs as root, else whoever runs it. */
export async function daemonUser(): Promise<DaemonUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number((await execa("id", [flag, "nobody"])).stdout);
  return { name: "nobody", uid: await id("-u"), gid: await id("-g") };
}

/** Whether `user` can run the program at `path`: a checkout under /root cannot be read by nobody. */
export async function canRun(user: DaemonUser, path: string): Promise<boolean> {
  const r = await execa("runuser", ["-u", user.name, "--", "test", "-r", path], { reject: false, timeout: COMMAND_MS });
  return r.exitCode === 0;
}

function chownTree(path: string, user: DaemonUser): void {
  chownSync(path, user.uid, user.gid);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), user);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sub-second drills of small demo data keep two decimals: "0.0 s" would look like nothing ran. */
const seconds = (s: number) => s.toFixed(s < 1 ? 2 : 1);

/** The last line a stopped daemon wrote: its reason, when it gave one. */
function lastLine(file: string): string {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
  return lines.at(-1)?.slice(0, 500) ?? "(it wrote nothing)";
}
