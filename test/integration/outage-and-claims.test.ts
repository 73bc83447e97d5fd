import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CutProxy } from "../helpers/cut-proxy.js";
import { freshDatabase } from "../helpers/postgres-cluster.js";
import { createBucket, s3TargetConfig, testClient } from "../helpers/s3.js";
import { NobodyDrctl } from "../helpers/unprivileged.js";
import { cluster, pgUrl, problems, Workspace } from "../helpers/workspace.js";

const BOOT_ID = "/proc/sys/kernel/random/boot_id";

describe("an unreachable store is an operation failure, and state stays right through outages and reboots", () => {
  const ws = new Workspace();
  let proxy: CutProxy;
  let bucket = "";
  const s3Port = () => inject("s3Port");
  const catalog = () => new Database(join(ws.stateDir, "catalog.sqlite"));

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    await freshDatabase(cluster, "outagesrc", "CREATE TABLE t AS SELECT generate_series(1, 500) AS x");
    proxy = await new CutProxy(s3Port()).listen();
    bucket = await createBucket(s3Port(), "outage");
    const both = { schedule: "0 * * * *", rpo: "1h", targets: ["local", "offsite"] };
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir }, offsite: s3TargetConfig(ws.dir, proxy.port, bucket) },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: {
        config: { type: "files", paths: [ws.path("src")], ...both },
        database: { type: "postgres", connection: pgUrl("outagesrc"), globals: false, ...both, drill: { from: "offsite" } },
      },
    });
    for (const job of ["config", "database"]) expect((await ws.drctl(["backup", job])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await proxy.cut();
    ws.remove();
  });

  it("with the store down: restore exits 1 naming the target and the cause, a drill records 'could not reach'", async () => {
    await proxy.cut();
    try {
      const to = ws.path("restore-down");
      const restore = await ws.drctl(["restore", "config", "--from", "offsite", "--to-dir", to]);
      expect(problems(restore.stderr)).toMatch(/^drctl: could not reach target offsite to download files\.(listing\.jsonl|tar)\.zst: .*ECONNREFUSED/);
      expect(problems(restore.stderr)).not.toMatch(/damaged|TAR_BAD_ARCHIVE/);
      expect(restore.exitCode).toBe(1);
      expect(existsSync(to)).toBe(false);
      // A dry run asks the store too, and exits as the real run would.
      const dry = await ws.drctl(["restore", "config", "--from", "offsite", "--to-dir", to, "--dry-run"]);
      // A files dry run reads the backup's listing first (to check the paths asked for).
      expect(problems(dry.stderr)).toMatch(/^drctl: could not reach target offsite to download files\.listing\.jsonl\.zst: target offsite: cannot read s3:\/\/\S+files\.listing\.jsonl\.zst: .*ECONNREFUSED/);
      expect(dry.exitCode).toBe(1);

      const drill = await ws.drctl(["drill", "database", "--json"]);
      expect(drill.exitCode).toBe(1);
      const outcome = JSON.parse(drill.stdout);
      expect(outcome).toMatchObject({ ok: false, failure: "operation" });
      expect(outcome.error).toMatch(/could not reach target offsite to download \S+\.dump\.zst/);
      expect(outcome.error).not.toMatch(/too short/);
    } finally {
      await proxy.resume();
    }
  });

  it("copies that waited out an outage are written as soon as one copy to the target succeeds again", async () => {
    await proxy.cut();
    const waiting: string[] = [];
    try {
      for (let i = 0; i < 2; i++) waiting.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    } finally {
      await proxy.resume();
    }
    const db = catalog();
    const due = db.prepare("SELECT next_attempt_at FROM copies WHERE target = 'offsite' AND state = 'pending'").all() as { next_attempt_at: number }[];
    db.close();
    expect(due).toHaveLength(2);
    expect(due.every((c) => c.next_attempt_at > Date.now())).toBe(true);
    // The next backup's copy reaches the store: the two waiting copies need not sit out their backoff.
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    const after = JSON.parse((await ws.drctl(["list", "config", "--json"])).stdout);
    for (const id of waiting) expect(after.find((b: { id: string }) => b.id === id).copies.map((c: { state: string }) => c.state)).toEqual(["verified", "verified"]);
  });

  it("a run left by a dead process whose target is down does not block backups, and is cleaned once the target is back", async () => {
    const ghost = "config-20260101T000000Z-dead";
    await testClient(s3Port()).send(new PutObjectCommand({ Bucket: bucket, Key: `drd/config/${ghost}/files.tar.zst`, Body: "half" }));
    const db = catalog();
    db.prepare("INSERT INTO runs (job, backup_id, trigger, pid, boot_id, started_at, state) VALUES ('config', ?, 'schedule', 999999999, ?, 0, 'running')").run(ghost, readBootId());
    db.close();
    await proxy.cut();
    try {
      const run = await ws.drctl(["backup", "config"]);
      // The backup lands; the store being down leaves its offsite copy pending, and it says so.
      expect(problems(run.stderr)).toMatch(/^drctl: policy NOT met: .*; offsite pending, next retry \d\d:\d\d:\d\d UTC$/);
      expect(run.exitCode).toBe(0);
    } finally {
      await proxy.resume();
    }
    const check = catalog();
    expect(check.prepare("SELECT state, cleanup_pending FROM runs WHERE backup_id = ?").get(ghost)).toEqual({ state: "interrupted", cleanup_pending: 1 });
    check.close();
    expect(await keysUnder(`drd/config/${ghost}/`)).toEqual([`drd/config/${ghost}/files.tar.zst`]);
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    expect(await keysUnder(`drd/config/${ghost}/`)).toEqual([]);
    const done = catalog();
    expect(done.prepare("SELECT cleanup_pending FROM runs WHERE backup_id = ?").get(ghost)).toEqual({ cleanup_pending: 0 });
    done.close();
  });

  it("a run claimed before a reboot (another boot id, its pid now someone else's) never blocks the job", async () => {
    const db = catalog();
    // pid 1 is alive; under another boot id it is not the process that claimed the run.
    db.prepare("INSERT INTO runs (job, backup_id, trigger, pid, boot_id, started_at, state) VALUES ('config', 'config-before-reboot', 'schedule', 1, 'a-boot-long-gone', 0, 'running')").run();
    db.close();
    const run = await ws.drctl(["backup", "config"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    const check = catalog();
    expect(check.prepare("SELECT state FROM runs WHERE backup_id = 'config-before-reboot'").get()).toEqual({ state: "interrupted" });
    check.close();
  });

  it("a restore refused because the database is not empty leaves no file holding the password", async () => {
    writeFileSync(ws.path("pgpass-secret"), "s3cret-password\n", { mode: 0o600 });
    // What drd used to leave: a drd-pg-* directory holding a pgpass file (test clusters use drd-pg-* too, without one).
    const pgpassFiles = () => readdirSync(tmpdir()).filter((e) => e.startsWith("drd-pg-") && existsSync(join(tmpdir(), e, "pgpass")));
    const before = pgpassFiles();
    const host = new Workspace();
    try {
      host.writeConfig({
        state_dir: host.stateDir,
        targets: { local: { type: "local", path: ws.backupDir } },
        policy: { copies: 1, media: 1, offsite: 0 },
        jobs: { database: { type: "postgres", connection: pgUrl("outagesrc"), password_file: ws.path("pgpass-secret"), globals: false, schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      });
      const run = await host.drctl(["restore", "database", "--from", "local", "--to-db", "outagesrc"]);
      expect(problems(run.stderr)).toMatch(/database "outagesrc" exists and has 1 table\(s\)/);
      expect(run.exitCode).toBe(2);
      expect(pgpassFiles()).toEqual(before);
    } finally {
      host.remove();
    }
  });

  it("a command run by another user than the state dir's owner refuses, naming the owner", async () => {
    const nobody = new NobodyDrctl();
    const host = new Workspace();
    try {
      host.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
      mkdirSync(host.stateDir, { mode: 0o700 });
      nobody.give(host.stateDir);
      const run = await host.drctl(["backup", "config"]);
      expect(run.stderr).toMatch(/^drctl: the state dir \S+ belongs to nobody, not to the user running drctl \(uid 0\): run it as that user \(sudo -u nobody drctl \.\.\.\), or pass --allow-root/);
      expect(run.exitCode).toBe(2);
      expect(readdirSync(host.stateDir)).toEqual([]);
      expect((await host.drctl(["--allow-root", "list"])).exitCode).toBe(0);
    } finally {
      host.remove();
      nobody.remove();
    }
  });

  async function keysUnder(prefix: string): Promise<string[]> {
    const res = await testClient(s3Port()).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key!);
  }
});

function readBootId(): string {
  return readFileSync(BOOT_ID, "utf8").trim();
}
