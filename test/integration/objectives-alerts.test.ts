import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { psql, startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { MailReceiver, WebhookReceiver } from "../helpers/receivers.js";
import { problems, Workspace } from "../helpers/workspace.js";

const OBJECTIVE_EVENTS = ["rpo_breach", "rpo_recovered", "rto_breach", "rto_recovered", "drill_failed"];

/**
 * RPO and RTO tracked end to end: a real daemon on second-level schedules and objectives, a
 * PostgreSQL server that goes down and comes back, and the three channels (a webhook
 * receiver, an SMTP server, a command) each told once per change.
 */
describe("objectives and alerts with a real daemon", () => {
  const ws = new Workspace();
  let pg: Cluster;
  const hook = new WebhookReceiver();
  const mail = new MailReceiver();
  const commandLog = ws.path("command-events.jsonl");
  let daemon: ReturnType<Workspace["drctl"]> | undefined;
  let logText = "";

  const config = (check: string, rpo = "6s") =>
    ws.withJobs(
      {
        database: {
          type: "postgres",
          connection: pg.url("objdb"),
          globals: false,
          schedule: "*/2 * * * * *",
          rpo,
          rto: "1h",
          targets: ["local"],
          drill: { checks: [{ sql: check }] },
        },
      },
      {
        renotify: "1h",
        heartbeat: { url: `http://127.0.0.1:${hook.port}/ping` },
        alerts: [
          { type: "webhook", name: "hook", url: `http://127.0.0.1:${hook.port}/drd`, secret_file: ws.path("hook.secret"), timeout: "2s", events: OBJECTIVE_EVENTS },
          { type: "email", name: "mail", smtp: { host: "127.0.0.1", port: mail.port, require_tls: false }, from: "drd@test.invalid", to: ["ops@test.invalid"], events: OBJECTIVE_EVENTS },
          { type: "command", name: "cmd", command: ["sh", "-c", `cat >> ${commandLog}; echo >> ${commandLog}`], events: OBJECTIVE_EVENTS, jobs: ["database"] },
        ],
      },
    );
  const commandEvents = () => (existsSync(commandLog) ? readFileSync(commandLog, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l).event as string) : []);
  const startDaemon = () => {
    daemon = ws.drctl(["daemon", "--allow-root"]);
    daemon.stdout!.on("data", (d: Buffer) => (logText += d.toString()));
  };
  const stopDaemon = async () => {
    daemon?.kill("SIGTERM");
    await daemon;
    daemon = undefined;
  };

  beforeAll(async () => {
    pg = await startCluster();
    await psql(pg, "postgres", "CREATE DATABASE objdb");
    await psql(pg, "objdb", "CREATE TABLE hosts AS SELECT generate_series(1, 100) AS id");
    await hook.start();
    await mail.start();
    writeFileSync(ws.path("hook.secret"), "hmac-secret\n", { mode: 0o600 });
    config("select count(*) = 100 from hosts");
  });
  afterAll(async () => {
    await stopDaemon();
    await hook.stop();
    await mail.stop();
    await pg.stop();
    ws.remove();
  });

  it("an outage of PostgreSQL: exactly one rpo_breach per channel, status --check exits 1 meanwhile", async () => {
    startDaemon();
    await waitFor(() => logText.includes('"msg":"backup done"'), 30_000, "the first backup");
    const ok = JSON.parse((await ws.drctl(["status", "--json"])).stdout)[0];
    expect(ok).toMatchObject({ job: "database", rpo_state: "ok", rpo_seconds: 6, rto_state: "untested", policy_ok: true });
    expect((await ws.drctl(["status", "--check"])).exitCode).toBe(0);

    await pg.pause();
    await waitFor(() => hook.events().includes("rpo_breach") || undefined, 30_000, "rpo_breach at the webhook");
    await waitFor(() => (mail.events().includes("rpo_breach") && commandEvents().includes("rpo_breach")) || undefined, 15_000, "rpo_breach by mail and command");
    const check = await ws.drctl(["status", "--check", "--json"]);
    expect(check.exitCode).toBe(1);
    expect(JSON.parse(check.stdout)[0]).toMatchObject({ rpo_state: "breach" });
    expect(JSON.parse(check.stdout)[0].age_seconds).toBeGreaterThan(6);
    // The dead man's switch: pinged while all was well, its /fail form during the breach.
    expect(hook.pings).toContain("/ping");
    await waitFor(() => hook.pings.includes("/ping/fail") || undefined, 15_000, "a /fail heartbeat");

    // Signed with HMAC-SHA256 of the body.
    const first = hook.received[0]!;
    expect(first.headers["x-drd-signature"]).toBe(`sha256=${createHmac("sha256", "hmac-secret").update(first.body).digest("hex")}`);
    expect(first.json).toMatchObject({ event: "rpo_breach", job: "database", severity: "critical", host: expect.any(String), timestamp: expect.any(String), message: expect.stringMatching(/over its RPO of 6\.0 s/) });
  });

  it("a daemon restarted during the breach sends nothing new", async () => {
    await stopDaemon();
    startDaemon();
    await waitFor(() => (logText.match(/"msg":"drd starting"/g)?.length ?? 0) >= 2 || undefined, 10_000, "the second daemon");
    await new Promise((r) => setTimeout(r, 5_000));
    expect(hook.events()).toEqual(["rpo_breach"]);
    expect(mail.events()).toEqual(["rpo_breach"]);
    expect(commandEvents()).toEqual(["rpo_breach"]);
  });

  it("PostgreSQL back while the webhook receiver is down: rpo_recovered once everywhere, the webhook once it is back", async () => {
    await hook.stop();
    await pg.resume();
    await waitFor(() => (mail.events().includes("rpo_recovered") && commandEvents().includes("rpo_recovered")) || undefined, 30_000, "rpo_recovered by mail and command");
    await waitFor(() => logText.includes('"msg":"alert not delivered (will retry)"') || undefined, 15_000, "a failed webhook delivery");
    await hook.start();
    await waitFor(() => hook.events().includes("rpo_recovered") || undefined, 40_000, "rpo_recovered at the webhook after it came back");
    await new Promise((r) => setTimeout(r, 3_000));
    expect(hook.events()).toEqual(["rpo_breach", "rpo_recovered"]);
    expect(mail.events()).toEqual(["rpo_breach", "rpo_recovered"]);
    expect(commandEvents()).toEqual(["rpo_breach", "rpo_recovered"]);
    const status = JSON.parse((await ws.drctl(["status", "--json", "--window", "1h"])).stdout)[0];
    expect(status).toMatchObject({ rpo_state: "ok", window: { rpo: { breaches: 1 } } });
    expect(status.window.rpo.longest_breach_seconds).toBeGreaterThan(0);
    expect(status.window.rpo.share_ok).toBeLessThan(1);
  });

  it("a failing drill: drill_failed and rto_breach; a passing one: rto_recovered", async () => {
    await stopDaemon();
    // No daemon backs up now: a long RPO keeps the RPO side quiet while the drills run.
    config("select count(*) = 99 from hosts", "1h");
    const failed = await ws.drctl(["drill", "database"]);
    expect(failed.exitCode).toBe(3);
    expect(hook.events().slice(2)).toEqual(["drill_failed", "rto_breach"]);
    expect(JSON.parse((await ws.drctl(["status", "--json"])).stdout)[0]).toMatchObject({ rto_state: "breach", rto_reason: "the newest drill failed", last_drill: { ok: false } });
    config("select count(*) = 100 from hosts", "1h");
    const passed = await ws.drctl(["drill", "database"]);
    expect(problems(passed.stderr)).toBe("");
    expect(passed.exitCode).toBe(0);
    expect(hook.events().slice(2)).toEqual(["drill_failed", "rto_breach", "rto_recovered"]);
    expect(mail.events().slice(2)).toEqual(["drill_failed", "rto_breach", "rto_recovered"]);
    const status = JSON.parse((await ws.drctl(["status", "--json"])).stdout)[0];
    expect(status).toMatchObject({ rto_state: "ok", last_drill: { ok: true, rto_proven: true }, window: { rto: { drills_passed: 1, drills_failed: 1 } } });
    expect(status.measured_rto_seconds).toBeGreaterThan(0);
  });

  it("events lists what happened; alerts test reaches each channel and names the one that fails", async () => {
    const events = JSON.parse((await ws.drctl(["events", "--job", "database", "--json"])).stdout).map((e: { kind: string }) => e.kind);
    expect(events).toEqual(expect.arrayContaining(["backup_failed", "alert_rpo_breach", "alert_rpo_recovered", "drill_failed", "alert_rto_breach", "alert_rto_recovered"]));
    const test = await ws.drctl(["alerts", "test"]);
    expect(test.stdout).toBe(`hook (webhook to http://127.0.0.1:${hook.port}/drd): delivered\nmail (email to ops@test.invalid via 127.0.0.1:${mail.port}): delivered\ncmd (command to sh): delivered`);
    expect(test.exitCode).toBe(0);
    await hook.stop();
    const one = await ws.drctl(["alerts", "test", "--channel", "hook"]);
    // Which place failed is named, not only how.
    expect(one.stdout).toBe(`hook (webhook to http://127.0.0.1:${hook.port}/drd): FAILED: ECONNREFUSED`);
    expect(one.exitCode).toBe(1);
    const unknown = await ws.drctl(["alerts", "test", "--channel", "pager"]);
    expect(unknown.stderr).toBe("drctl: no alert channel \"pager\" (channels: hook, mail, cmd)");
    expect(unknown.exitCode).toBe(2);
  });
});
