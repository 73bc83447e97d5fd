import { execSync } from "node:child_process";
import { execa } from "execa";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, psql } from "../helpers/postgres-cluster.js";
import { WebhookReceiver } from "../helpers/receivers.js";
import { cluster, pgUrl, problems, Workspace } from "../helpers/workspace.js";

describe("config check refuses what drd could not honour", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());
  const job = { config: { type: "files", paths: ["/etc/hostname"], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } };

  it.each([
    ["a file: webhook", { alerts: [{ type: "webhook", url: "file:///etc/passwd" }] }, "alerts[0].url: must be an http or https URL, not file: (file:///etc/passwd)"],
    ["a data: webhook", { alerts: [{ type: "webhook", url: "data:text/plain,hi" }] }, "alerts[0].url: must be an http or https URL, not data:"],
    ["a file: heartbeat", { heartbeat: { url: "file:///tmp/beat" } }, "heartbeat.url: must be an http or https URL, not file:"],
    ["a metrics port past 65535", { metrics: { listen: "127.0.0.1:99999" } }, "metrics.listen: the port must be from 0 to 65535"],
    ["more copies than targets", { policy: { copies: 99999999999, media: 1, offsite: 0 } }, "policy.copies: "],
    ["three copies with one target", { policy: { copies: 3, media: 1, offsite: 0 } }, "policy.copies: is 3, but only 1 target(s) are configured: no backup could meet it"],
    ["more media than copies", { policy: { copies: 1, media: 2, offsite: 0 } }, "policy.media: is 2, more than the 1 copies required"],
  ])("%s: exit 2 naming the key", async (_name, extra, message) => {
    const config = ws.path(`bad-${Math.random().toString(16).slice(2)}.yaml`);
    ws.withJobs(job, extra);
    writeFileSync(config, readFileSync(ws.configPath));
    const run = await ws.drctl(["config", "check", "--config", config]);
    expect(run.exitCode).toBe(2);
    expect(problems(run.stderr)).toContain(message);
  });

  it("a webhook URL's password is sent as basic authentication and never printed", async () => {
    const receiver = await new WebhookReceiver().start();
    const closed = await freePort();
    try {
      ws.withJobs(job, {
        alerts: [
          { type: "webhook", name: "good", url: `http://ops:s3cret-pw@127.0.0.1:${receiver.port}/hook` },
          { type: "webhook", name: "down", url: `http://ops:s3cret-pw@127.0.0.1:${closed}/hook` },
        ],
      });
      const check = await ws.drctl(["config", "check"]);
      expect(check.exitCode).toBe(0);
      expect(check.stdout + check.stderr).not.toContain("s3cret");
      const test = await ws.drctl(["alerts", "test"]);
      expect(test.exitCode).toBe(1);
      expect(test.stdout + test.stderr).toContain("down");
      expect(test.stdout + test.stderr).not.toContain("s3cret");
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from("ops:s3cret-pw").toString("base64")}`);
      const events = await ws.drctl(["events", "--json"]);
      expect(events.stdout).not.toContain("s3cret");
    } finally {
      await receiver.stop();
    }
  });

  it("events --limit past its bound is exit 2 saying what is allowed, not a raw catalog error", async () => {
    ws.withJobs(job);
    for (const bad of ["99999999999999999999", "0", "-5", "1e3", "ten"]) {
      const run = await ws.drctl(["events", "--limit", bad]);
      expect(run.exitCode, bad).toBe(2);
      expect(problems(run.stderr), bad).toBe(`drctl: --limit must be a whole number from 1 to 1000000, not "${bad}"`);
    }
    expect((await ws.drctl(["events", "--limit", "1000000"])).exitCode).toBe(0);
  });
});

describe("commands the operator configured see none of drd's secrets", () => {
  const ws = new Workspace();
  const DB = "envdb";

  beforeAll(async () => {
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${DB}`);
    await psql(cluster, "postgres", `CREATE DATABASE ${DB}`);
    await psql(cluster, DB, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    writeFileSync(ws.path("pw"), "pw-of-the-job\n", { mode: 0o600 });
    mkdirSync(ws.path("seen"), { recursive: true });
  });
  afterAll(() => ws.remove());

  const daemonSecrets = { AWS_SECRET_ACCESS_KEY: "aws-secret-of-the-daemon", PGPASSWORD: "pgpassword-of-the-daemon", DRD_EXTRA: "kept" };

  it("an alert command gets PATH, LANG and the DRD_* variables only", async () => {
    const out = ws.path("seen", "alert-env");
    ws.withJobs(
      { config: { type: "files", paths: ["/etc/hostname"], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      { alerts: [{ type: "command", name: "envdump", command: ["sh", "-c", `env > ${out}`] }] },
    );
    const run = await ws.drctl(["alerts", "test"], { env: daemonSecrets });
    expect(run.exitCode).toBe(0);
    const seen = readFileSync(out, "utf8");
    expect(seen).not.toContain("aws-secret-of-the-daemon");
    expect(seen).not.toContain("pgpassword-of-the-daemon");
    const names = seen.split("\n").filter(Boolean).map((l) => l.slice(0, l.indexOf("=")));
    expect(names.filter((n) => !n.startsWith("DRD_") && n !== "PATH" && n !== "LANG" && n !== "PWD" && n !== "SHLVL" && n !== "_").sort()).toEqual([]);
    expect(seen).toContain("DRD_EVENT=test");
    expect(seen).toContain("DRD_EXTRA=kept");
  });

  it("a drill's command check gets the scratch database and the job's password, and nothing else", async () => {
    const out = ws.path("seen", "drill-env");
    ws.withJobs({
      pw: {
        type: "postgres",
        // The shared test server lets postgres in without one; the password still goes to the check as it would to a server that asks.
        connection: pgUrl(DB),
        password_file: ws.path("pw"),
        globals: false,
        schedule: "0 * * * *",
        rpo: "1h",
        targets: ["local"],
        drill: { connection: pgUrl("postgres"), checks: [{ command: ["sh", "-c", `env > ${out}; psql "$DRD_DRILL_DATABASE_URL" -XAtc 'select count(*) from t'`] }] },
      },
    });
    expect((await ws.drctl(["backup", "pw"], { env: daemonSecrets })).exitCode).toBe(0);
    const drill = await ws.drctl(["drill", "pw", "--json"], { env: daemonSecrets });
    expect(problems(drill.stderr)).toBe("");
    expect(drill.exitCode).toBe(0);
    const seen = readFileSync(out, "utf8");
    expect(seen).toContain("PGPASSWORD=pw-of-the-job");
    expect(seen).not.toContain("aws-secret-of-the-daemon");
    expect(seen).not.toContain("pgpassword-of-the-daemon");
  });
});

describe("a restore that runs out of disk", () => {
  const ws = new Workspace();
  const small = ws.path("small");

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    // Random bytes: compression cannot make them fit.
    writeFileSync(ws.path("src", "big.bin"), Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, () => Math.floor(Math.random() * 256))));
    mkdirSync(small, { recursive: true });
    execSync(`mount -t tmpfs -o size=1m tmpfs ${small}`);
  });
  afterAll(() => {
    execSync(`umount ${small}`);
    ws.remove();
  });

  it("into a full directory: exit 1 naming the filesystem and what it needed, nothing left", async () => {
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    const run = await ws.drctl(["restore", "config", "--to-dir", join(small, "out")]);
    expect(problems(run.stderr)).toMatch(new RegExp(`no space left on the filesystem of ${join(small, "out")} to restore into: it needs 4194304 bytes, \\d+ are free`));
    expect(run.exitCode).toBe(1);
    expect(readdirSync(small)).toEqual([]);
  });

  it("staging in a full state_dir: exit 1 naming it, nothing left", async () => {
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    const state = join(small, "state");
    mkdirSync(state, { mode: 0o700 });
    execSync(`cp -a ${ws.stateDir}/. ${state}/`);
    const config = ws.path("small-state.yaml");
    writeFileSync(config, readFileSync(ws.configPath, "utf8").replace(`state_dir: ${ws.stateDir}`, `state_dir: ${state}`));
    const run = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-state")], { config });
    expect(problems(run.stderr)).toMatch(/no space left on the filesystem of .*\/state\/restore-[^ ]+ to stage files\.tar\.zst \(a restore downloads each artifact into state_dir first\): it needs \d+ bytes, \d+ are free/);
    expect(run.exitCode).toBe(1);
    expect(readdirSync(state).filter((f) => f.startsWith("restore-"))).toEqual([]);
  });
});

describe("staging left by restores that were killed", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("is removed by the next restore (and the next backup, as at the daemon's start); a live restore's staging is kept", async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "a.conf"), "a\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().slice(0, 8);
    const gone = execa("true");
    await gone;
    const alive = execa("sleep", ["60"]);
    const stage = (name: string) => {
      mkdirSync(join(ws.stateDir, name));
      writeFileSync(join(ws.stateDir, name, "files.tar.zst"), "downloaded");
      return name;
    };
    const dead = stage(`restore-${gone.pid}-${boot}-aaaaaa`);
    const otherBoot = stage(`restore-${alive.pid}-00000000-bbbbbb`);
    const live = stage(`restore-${alive.pid}-${boot}-cccccc`);
    const run = await ws.drctl(["restore", "config", "--to-dir", ws.path("out")]);
    expect(run.exitCode).toBe(0);
    const left = readdirSync(ws.stateDir).filter((f) => f.startsWith("restore-"));
    expect(left).toEqual([live]);
    expect(left).not.toContain(dead);
    expect(left).not.toContain(otherBoot);
    alive.kill("SIGKILL");
    await alive.catch(() => undefined);
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    expect(readdirSync(ws.stateDir).filter((f) => f.startsWith("restore-"))).toEqual([]);
  });
});
