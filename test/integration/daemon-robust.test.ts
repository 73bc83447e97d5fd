import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { contextFor } from "../../src/app/context.js";
import { loadConfig } from "../../src/config/load.js";
import { Runtime } from "../../src/daemon/runtime.js";
import { Scheduler } from "../../src/daemon/scheduler.js";
import { runBackup } from "../../src/app/backup.js";
import { runDrill } from "../../src/app/drill.js";
import { replicatePending } from "../../src/app/replicate.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { Outbox } from "../../src/catalog/outbox.js";
import { waitFor } from "../helpers/files.js";
import { Blackhole } from "../helpers/receivers.js";
import { Workspace } from "../helpers/workspace.js";

function follow(child: ReturnType<Workspace["drctl"]>): { text: () => string } {
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return { text: () => out };
}

describe("the daemon keeps running and keeps state right", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } });
  afterAll(() => ws.remove());

  it("a second daemon on the same state dir exits 1 naming the running one; after kill -9 the lock is free", async () => {
    const first = ws.drctl(["daemon", "--allow-root"]);
    const log = follow(first);
    await waitFor(() => log.text().includes('"msg":"scheduled"'), 30_000, "the first daemon");
    const second = await ws.drctl(["daemon", "--allow-root"]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^drctl: another drd daemon is running on \\S+ \\(pid ${first.pid}\\): stop it first`, "m"));
    first.kill("SIGKILL");
    await first;
    const third = ws.drctl(["daemon", "--allow-root"]);
    const log3 = follow(third);
    await waitFor(() => log3.text().includes('"msg":"scheduled"'), 30_000, "a daemon after the first was killed");
    third.kill("SIGTERM");
    expect((await third).exitCode).toBe(0);
  });

  it("SIGHUP reloads the config: a broken one is refused and the old one stays, a good one is in force at once", async () => {
    const daemon = ws.drctl(["daemon", "--allow-root"]);
    const log = follow(daemon);
    await waitFor(() => log.text().includes('"msg":"scheduled"'), 30_000, "the daemon");
    const good = readFileSync(ws.configPath, "utf8");
    try {
      writeFileSync(ws.configPath, good.replace("rpo: 1d", "rpo: soon"));
      daemon.kill("SIGHUP");
      await waitFor(() => log.text().includes("config reload refused"), 10_000, "the refusal");
      expect(log.text()).toMatch(/"problems":\["jobs\.config\.rpo: invalid duration \\"soon\\" \(write e\.g\. 90s, 15m, 1h, 30d\)"\]/);
      expect(daemon.exitCode).toBeNull();

      // Every 2 seconds now, and a second job: both in force without a restart.
      writeFileSync(ws.configPath, good.replace('schedule: 0 3 * * *', 'schedule: "*/2 * * * * *"').replace("jobs:", `jobs:\n  second:\n    type: files\n    paths: [${ws.path("src")}]\n    schedule: "0 4 * * *"\n    rpo: 1d\n    targets: [local]`));
      const backupsBefore = (log.text().match(/"msg":"backup done"/g) ?? []).length;
      daemon.kill("SIGHUP");
      await waitFor(() => log.text().includes('"msg":"config reloaded"'), 10_000, "the reload");
      expect(log.text()).toMatch(/"added":\["second"\],"removed":\[\],"rescheduled":\["config"\]/);
      await waitFor(() => (log.text().match(/"msg":"backup done"/g) ?? []).length >= backupsBefore + 2 || undefined, 20_000, "backups on the new schedule");
      const reloads = readFileSync(join(ws.stateDir, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((l) => l.event === "config_reload");
      expect(reloads.map((r) => [r.outcome, r.actor.via])).toEqual([["refused", "daemon"], ["ok", "daemon"]]);
    } finally {
      writeFileSync(ws.configPath, good);
      daemon.kill("SIGTERM");
      expect((await daemon).exitCode).toBe(0);
    }
  });

  it("two SIGHUPs 50 ms apart, then SIGTERM: both reloads apply, one after the other, and the daemon exits within 10 s", async () => {
    // An alert channel that hangs, with a row to deliver: the reloads come while a delivery waits.
    const hole = await new Blackhole().start();
    const catalog = Catalog.open(ws.stateDir);
    new Outbox(catalog.db).add("hook", JSON.stringify({ event: "backup_failed", job: "config", severity: "warning", message: "m", details: {}, timestamp: new Date().toISOString(), host: "h" }), Date.now());
    catalog.close();
    const good = readFileSync(ws.configPath, "utf8");
    writeFileSync(ws.configPath, `${good.replace("rpo: 1d", 'rpo: 1d\n    drill: { schedule: "0 5 * * *" }')}alerts: [{ type: webhook, name: hook, url: "http://127.0.0.1:${hole.port}/", timeout: 5s }]\n`);
    const daemon = ws.drctl(["daemon", "--allow-root"]);
    const log = follow(daemon);
    try {
      await waitFor(() => hole.connections > 0 || undefined, 30_000, "the hung delivery");
      await waitFor(() => log.text().includes('"msg":"drill scheduled"'), 30_000, "the daemon");
      daemon.kill("SIGHUP");
      await new Promise((r) => setTimeout(r, 50));
      daemon.kill("SIGHUP");
      await waitFor(() => (log.text().match(/"msg":"config reloaded"/g) ?? []).length === 2 || undefined, 10_000, "both reloads");
      // Each reload sets the drill's timer once: three in all (start and two reloads), never doubled.
      await new Promise((r) => setTimeout(r, 200));
      expect((log.text().match(/"msg":"drill scheduled"/g) ?? []).length).toBe(3);
      const stopAt = Date.now();
      daemon.kill("SIGTERM");
      daemon.kill("SIGHUP");
      expect((await daemon).exitCode).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(10_000);
    } finally {
      daemon.kill("SIGKILL");
      writeFileSync(ws.configPath, good);
      await hole.stop();
    }
  });

  it("after a reload that changes an RPO and adds a job, /metrics shows both", async () => {
    const good = readFileSync(ws.configPath, "utf8");
    writeFileSync(ws.configPath, `${good}metrics: { listen: "127.0.0.1:0" }\n`);
    const daemon = ws.drctl(["daemon", "--allow-root"]);
    const log = follow(daemon);
    try {
      const listen = await waitFor(() => /"listen":"([^"]+)","msg":"metrics served at \/metrics"/.exec(log.text())?.[1], 30_000, "the metrics page");
      const page = async () => (await fetch(`http://${listen}/metrics`)).text();
      expect(await page()).toContain('drd_job_rpo_seconds{backup_job="config"} 86400');
      writeFileSync(ws.configPath, `${good.replace("rpo: 1d", "rpo: 2h").replace("jobs:", `jobs:\n  second:\n    type: files\n    paths: [${ws.path("src")}]\n    schedule: "0 4 * * *"\n    rpo: 30m\n    targets: [local]`)}metrics: { listen: "127.0.0.1:0" }\n`);
      daemon.kill("SIGHUP");
      await waitFor(() => log.text().includes('"msg":"config reloaded"'), 10_000, "the reload");
      const after = await page();
      expect(after).toContain('drd_job_rpo_seconds{backup_job="config"} 7200');
      expect(after).toContain('drd_job_rpo_seconds{backup_job="second"} 1800');
    } finally {
      daemon.kill("SIGTERM");
      await daemon;
      writeFileSync(ws.configPath, good);
    }
  });

  it("a scheduled task that throws (prune after a backup) is logged and the scheduler goes on", async () => {
    const lines: { msg: string; task?: string; error?: string }[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const ctx = contextFor(loadConfig(ws.configPath));
    let prunes = 0;
    const runtime = new Runtime(ctx);
    const scheduler = new Scheduler(runtime, pino(sink), undefined, {
      backup: runBackup,
      drill: runDrill,
      replicate: replicatePending,
      prune: async () => {
        prunes++;
        throw new Error("SQLITE_CORRUPT: database disk image is malformed");
      },
    });
    // A fresh catalog would have caught up at start; this one has a backup, so nothing runs by itself.
    await scheduler.start();
    const run = (scheduler as unknown as { run(job: string, reason: string): Promise<unknown> }).run.bind(scheduler);
    await run("config", "schedule");
    await run("config", "schedule");
    runtime.stop(new Error("test over"));
    await scheduler.stop();
    ctx.catalog.close();
    expect(prunes).toBe(2);
    const failed = lines.filter((l) => l.msg === "scheduled task failed");
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatchObject({ task: "backup config", error: "SQLITE_CORRUPT: database disk image is malformed" });
  });

  it("a backup slot that comes while the job's backup still runs is skipped, also after a reload", async () => {
    const ctx = contextFor(loadConfig(ws.configPath));
    let running = 0;
    let most = 0;
    let started = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const runtime = new Runtime(ctx);
    const scheduler = new Scheduler(runtime, pino(new Writable({ write: (_c, _e, done) => done() })), undefined, {
      backup: (async () => {
        started++;
        most = Math.max(most, ++running);
        await held;
        running--;
        return { id: "x", job: "config", kind: "files", size: 0, sha256: "", durationMs: 0, copies: [] };
      }) as unknown as typeof runBackup,
      drill: runDrill,
      replicate: replicatePending,
      prune: (async () => ({ removed: 0, skipped: 0, errors: [] })) as unknown as typeof import("../../src/app/prune.js").prune,
    });
    await scheduler.start();
    const run = (scheduler as unknown as { run(job: string, reason: string): Promise<unknown> }).run.bind(scheduler);
    const first = run("config", "schedule");
    await run("config", "schedule");
    runtime.reload(loadConfig(ws.configPath));
    await run("config", "schedule");
    expect([started, most]).toEqual([1, 1]);
    release();
    await first;
    await run("config", "schedule");
    expect(started).toBe(2);
    runtime.stop(new Error("test over"));
    await scheduler.stop();
    ctx.catalog.close();
  });
});
