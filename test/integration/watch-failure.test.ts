import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { contextFor } from "../../src/app/context.js";
import { loadConfig } from "../../src/config/load.js";
import { AlertWorker } from "../../src/daemon/alert-worker.js";
import { Runtime } from "../../src/daemon/runtime.js";
import { ObjectiveWatch } from "../../src/daemon/watch.js";
import { waitFor } from "../helpers/files.js";
import { WebhookReceiver } from "../helpers/receivers.js";
import { Workspace } from "../helpers/workspace.js";

/** The objectives cannot be evaluated (a table of the catalog is gone): an event, and the heartbeat says failure, never stale success. */
describe("an objective watch that fails", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("records objectives_failed once, and the heartbeat calls /fail with the reason", async () => {
    const receiver = await new WebhookReceiver().start();
    ws.withJobs(
      { config: { type: "files", paths: [ws.path("nothing")], schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } },
      { heartbeat: { url: `http://127.0.0.1:${receiver.port}/ping`, timeout: "2s" } },
    );
    const ctx = contextFor(loadConfig(ws.configPath));
    const runtime = new Runtime(ctx);
    const log = pino(new Writable({ write: (_c, _e, done) => done() }));
    const alerts = new AlertWorker(runtime, log);
    const watch = new ObjectiveWatch(runtime, log, alerts);
    try {
      // Every change of an objective's state is written here: the first evaluation fails.
      ctx.catalog.db.exec("DROP TABLE objective_transitions");
      watch.start();
      await waitFor(() => receiver.pings.length > 0 || undefined, 10_000, "the heartbeat");
      expect(receiver.pings[0]).toBe("/ping/fail");
      watch.kick();
      const failed = ctx.catalog.events({ since: 0, limit: 10 }).filter((e) => e.kind === "objectives_failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]!.detail).toMatch(/no such table: objective_transitions/);
    } finally {
      watch.stop();
      await alerts.stop();
      await receiver.stop();
      ctx.catalog.close();
    }
  });
});
