import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { alertMessage } from "../../src/alerts/message.js";
import { runBackup } from "../../src/app/backup.js";
import { contextFor, type AppContext } from "../../src/app/context.js";
import { metricsSnapshot } from "../../src/app/metrics.js";
import { deliverDue, notify, retireDeparted } from "../../src/app/notify.js";
import { Outbox } from "../../src/catalog/outbox.js";
import { channelName } from "../../src/config/channel-name.js";
import { loadConfig } from "../../src/config/load.js";
import { Workspace } from "../helpers/workspace.js";

const D = 86_400_000;

/** A webhook that refuses (HTTP `status`, 500 by default) the first `refuse` requests, then takes every one, recording the events in order. */
async function flakyWebhook(refuse: number, status = 500): Promise<{ url: string; events: string[]; close: () => Promise<void> }> {
  const events: string[] = [];
  let seen = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (seen++ < refuse) return void res.writeHead(status).end();
      events.push((JSON.parse(body) as { event: string }).event);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, events, close: () => new Promise((r) => server.close(() => r())) };
}

describe("alerts that arrive, in order, once", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  afterAll(() => ws.remove());
  const job = { config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } };
  const message = (event: "rpo_breach" | "rpo_recovered", at: number) => alertMessage(event, "config", event, {}, at);

  it("a channel delivers in order: a recovery never goes before the breach it follows, also across a restart", async () => {
    const hook = await flakyWebhook(1);
    try {
      ws.withJobs(job, { alerts: [{ type: "webhook", url: hook.url }] });
      let now = Date.now();
      const first: AppContext = { ...contextFor(loadConfig(ws.configPath)), now: () => now };
      notify(first, message("rpo_breach", now));
      notify(first, message("rpo_recovered", now));
      const tried = await deliverDue(first);
      expect(tried.map((r) => [r.event, r.ok])).toEqual([["rpo_breach", false]]);
      expect(hook.events).toEqual([]);
      first.catalog.close();

      // Another process (a restart), once the retry is due: both, in their order.
      now += 60_000;
      const second: AppContext = { ...contextFor(loadConfig(ws.configPath)), now: () => now };
      expect((await deliverDue(second)).map((r) => [r.event, r.ok])).toEqual([["rpo_breach", true], ["rpo_recovered", true]]);
      expect(hook.events).toEqual(["rpo_breach", "rpo_recovered"]);
      second.catalog.close();
    } finally {
      await hook.close();
    }
  });

  it("a message the receiver refuses for good (HTTP 400) is dropped with an event, and the rows behind it go on", async () => {
    const hook = await flakyWebhook(1, 400);
    try {
      ws.withJobs(job, { alerts: [{ type: "webhook", name: "strict", url: hook.url }] });
      const ctx = contextFor(loadConfig(ws.configPath));
      notify(ctx, message("rpo_breach", Date.now()));
      notify(ctx, message("rpo_recovered", Date.now()));
      expect((await deliverDue(ctx)).map((r) => [r.event, r.ok])).toEqual([["rpo_breach", false], ["rpo_recovered", true]]);
      expect(hook.events).toEqual(["rpo_recovered"]);
      expect(ctx.catalog.events({ since: 0, limit: 100 }).filter((e) => e.kind === "alert_dropped").map((e) => e.detail)).toContain("rpo_breach for strict dropped: refused by the channel (HTTP 400)");
      ctx.catalog.close();
    } finally {
      await hook.close();
    }
  });

  it("a channel is its name or its destination: adding one before it keeps its alerts; editing its destination retires them, with an event", () => {
    const hook = { type: "webhook", url: "http://127.0.0.1:9/a" };
    ws.withJobs(job, { alerts: [hook] });
    const ctx = contextFor(loadConfig(ws.configPath));
    const waiting = () => new Outbox(ctx.catalog.db).waiting();
    try {
      const before = waiting().find((w) => w.channel === channelName(ctx.config.alerts[0]!))?.count ?? 0;
      notify(ctx, message("rpo_breach", Date.now()));
      const id = channelName(ctx.config.alerts[0]!);
      expect(id).toMatch(/^webhook-[0-9a-f]{8}$/);

      const inserted = { ...ctx, config: loadConfig(ws.withJobs(job, { alerts: [{ type: "command", command: ["true"] }, hook] })) };
      retireDeparted(inserted);
      expect(waiting().find((w) => w.channel === id)?.count).toBe(before + 1);

      const edited = { ...ctx, config: loadConfig(ws.withJobs(job, { alerts: [{ type: "webhook", url: "http://127.0.0.1:9/b" }] })) };
      retireDeparted(edited);
      expect(waiting().find((w) => w.channel === id)).toBeUndefined();
      const events = ctx.catalog.events({ since: 0, limit: 100 }).filter((e) => e.kind === "alert_retired");
      expect(events.at(-1)!.detail).toMatch(new RegExp(`^${before + 1} alert\\(s\\) waiting for channel ${id} retired: it is no longer in the config`));
    } finally {
      ctx.catalog.close();
    }
  });

  it("alerts waiting under a channel's old positional name (webhook-1) move to its name", () => {
    ws.withJobs(job, { alerts: [{ type: "webhook", url: "http://127.0.0.1:9/c" }] });
    const ctx = contextFor(loadConfig(ws.configPath));
    try {
      new Outbox(ctx.catalog.db).add("webhook-1", JSON.stringify(message("rpo_breach", Date.now())), Date.now());
      retireDeparted(ctx);
      const waiting = new Outbox(ctx.catalog.db).waiting();
      expect(waiting.find((w) => w.channel === "webhook-1")).toBeUndefined();
      expect(waiting.find((w) => w.channel === channelName(ctx.config.alerts[0]!))?.count).toBeGreaterThanOrEqual(1);
    } finally {
      ctx.catalog.close();
    }
  });

  it("an alert no channel took within alert_expiry is dropped, with an alert_dropped event", async () => {
    ws.withJobs(job, { alerts: [{ type: "webhook", name: "gone", url: "http://127.0.0.1:9/d", timeout: "1s" }], alert_expiry: "7d" });
    let now = Date.now();
    const ctx: AppContext = { ...contextFor(loadConfig(ws.configPath)), now: () => now };
    try {
      const droppedBefore = metricsSnapshot(ctx).alertsDropped;
      notify(ctx, message("rpo_breach", now));
      expect((await deliverDue(ctx)).map((r) => r.ok)).toEqual([false]);
      now += 7 * D + 1;
      expect(await deliverDue(ctx)).toEqual([]);
      expect(new Outbox(ctx.catalog.db).waiting().find((w) => w.channel === "gone")).toBeUndefined();
      expect(ctx.catalog.events({ since: 0, limit: 100 }).filter((e) => e.kind === "alert_dropped" && e.detail?.includes(" for gone ")).map((e) => e.detail)).toEqual([
        expect.stringMatching(/^rpo_breach for gone dropped: not delivered within 7\.0 d \(1 attempt\(s\), last: /),
      ]);
      expect(metricsSnapshot(ctx).alertsDropped).toBe(droppedBefore + 1);
    } finally {
      ctx.catalog.close();
    }
  });

  it("a job that keeps failing is one open problem: told once, again after renotify, and its recovery once", async () => {
    ws.withJobs(
      { config: { type: "files", paths: [ws.path("missing")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } },
      { renotify: "1h", alerts: [{ type: "command", name: "pager", command: ["true"] }] },
    );
    let now = Date.now();
    const ctx: AppContext = { ...contextFor(loadConfig(ws.configPath)), now: () => now };
    const told = () =>
      new Outbox(ctx.catalog.db)
        .undelivered()
        .map((r) => JSON.parse(r.event) as { event: string; message: string; details: { failures?: number } })
        .filter((m) => m.event.startsWith("backup_"));
    try {
      for (let i = 0; i < 10; i++) {
        await expect(runBackup(ctx, "config")).rejects.toThrow();
        now += 10_000;
      }
      expect(told().map((m) => m.event)).toEqual(["backup_failed"]);
      expect(ctx.catalog.failingJobs()).toEqual([{ job: "config", failures: 10 }]);
      expect(metricsSnapshot(ctx).jobs.map((j) => [j.job, j.failingRuns])).toEqual([["config", 10]]);
      now += 3_600_000;
      await expect(runBackup(ctx, "config")).rejects.toThrow();
      expect(told().map((m) => [m.event, m.details.failures])).toEqual([["backup_failed", 1], ["backup_failed", 11]]);
      expect(told()[1]!.message).toMatch(/^backup of config still failing: 11 failed runs since /);

      ctx.config.jobs.config = { ...ctx.config.jobs.config!, paths: [ws.path("src")] } as typeof ctx.config.jobs.config;
      await runBackup(ctx, "config");
      await runBackup(ctx, "config");
      expect(told().map((m) => m.event)).toEqual(["backup_failed", "backup_failed", "backup_recovered"]);
      expect(told()[2]!.message).toMatch(/^backup of config works again \(config-\S+\) after 11 failed run\(s\) over 62 min$/);
      expect(ctx.catalog.failingJobs()).toEqual([]);
    } finally {
      ctx.catalog.close();
    }
  });
});
