import { afterAll, describe, expect, it } from "vitest";
import { contextFor } from "../../src/app/context.js";
import { evaluateObjectives } from "../../src/app/objectives.js";
import { loadConfig } from "../../src/config/load.js";
import { Outbox } from "../../src/catalog/outbox.js";
import { Workspace } from "../helpers/workspace.js";

const H = 3_600_000;

/** The notification rules, on a real catalog with the clock moved by hand: once, again after renotify, the recovery once. */
describe("an open breach and its notifications", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("notifies once when it opens, again every renotify while open, and the recovery once", () => {
    ws.withJobs(
      { config: { type: "files", paths: [ws.path("nothing")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      { renotify: "4h", alerts: [{ type: "command", name: "cmd", command: ["true"] }] },
    );
    let now = Date.parse("2026-12-01T00:00:00Z");
    const ctx = { ...contextFor(loadConfig(ws.configPath)), now: () => now };
    const sent = () => new Outbox(ctx.catalog.db).undelivered().map((r) => JSON.parse(r.event).event as string);
    try {
      // The job was tried and produced nothing: never, then breach once the RPO has passed.
      ctx.catalog.startRun({ job: "config", backup_id: "config-1", trigger: "schedule", pid: 1, boot_id: null, started_at: now }, () => false);
      ctx.catalog.finishRun(1, "failed", now, "boom");
      const states = () => evaluateObjectives(ctx)[0]!.rpo.state;
      expect(states()).toBe("never");
      now += H + 1;
      expect(states()).toBe("breach");
      expect(sent()).toEqual(["rpo_breach"]);
      for (let i = 0; i < 3; i++) {
        now += H;
        states();
      }
      expect(sent()).toEqual(["rpo_breach"]); // 3 h later: not yet
      now += H;
      states();
      expect(sent()).toEqual(["rpo_breach", "rpo_breach"]); // 4 h after the first
      now += H;
      states();
      expect(sent()).toEqual(["rpo_breach", "rpo_breach"]);

      // A backup that meets the policy: recovered, once.
      ctx.catalog.recordBackup(
        { id: "config-2", job: "config", kind: "files", run_id: null, snapshot_at: now, finished_at: now, size: 1, sha256: "x", encryption: null, manifest: "{}", signature: null },
        [{ backup_id: "config-2", target: "local", location: "x", state: "verified", written_at: now, verified_at: now, error: null, attempts: 0, next_attempt_at: null }],
      );
      now += 1000;
      expect(states()).toBe("ok");
      now += 1000;
      states();
      expect(sent()).toEqual(["rpo_breach", "rpo_breach", "rpo_recovered"]);
      const recovered = JSON.parse(new Outbox(ctx.catalog.db).undelivered().at(-1)!.event);
      expect(recovered.details.breach_seconds).toBe(Math.round((5 * H + 1000) / 1000));
      const transitions = ctx.catalog.db.prepare("SELECT from_state, to_state FROM objective_transitions WHERE objective = 'rpo' ORDER BY id").all();
      expect(transitions).toEqual([
        { from_state: null, to_state: "never" },
        { from_state: "never", to_state: "breach" },
        { from_state: "breach", to_state: "ok" },
      ]);
    } finally {
      ctx.catalog.close();
    }
  });
});
