import { mkdirSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { runBackup } from "../../src/app/backup.js";
import { contextFor } from "../../src/app/context.js";
import { runDrill } from "../../src/app/drill.js";
import { prune } from "../../src/app/prune.js";
import { replicatePending } from "../../src/app/replicate.js";
import { Outbox } from "../../src/catalog/outbox.js";
import { loadConfig } from "../../src/config/load.js";
import { Runtime } from "../../src/daemon/runtime.js";
import { Scheduler } from "../../src/daemon/scheduler.js";
import { waitFor } from "../helpers/files.js";
import { Workspace } from "../helpers/workspace.js";

const YEAR = 365 * 86_400_000;

/**
 * The daemon's wall clock steps a year forward between two scheduled backups (a wrong NTP
 * answer): the backup taken then is dated a year ahead, and the prune after it would count
 * max_age back from it. The scheduler sees the step against the monotonic clock and holds
 * the prune; once the clock steps back, pruning goes on and removes nothing real.
 */
describe("a clock that steps forward while the daemon runs", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  afterAll(() => ws.remove());

  it("holds the prune after a backup dated by the stepped clock, says so once, and removes no correctly dated backup", async () => {
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir, retention: { max_age: "1d" } } },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } },
      alerts: [{ type: "command", name: "pager", command: ["true"] }],
    });
    let offset = 0;
    const ctx = { ...contextFor(loadConfig(ws.configPath)), now: () => Date.now() + offset };
    const runtime = new Runtime(ctx);
    let prunes = 0;
    const scheduler = new Scheduler(runtime, pino(new Writable({ write: (_c, _e, done) => done() })), undefined, {
      backup: runBackup,
      drill: runDrill,
      replicate: replicatePending,
      prune: (async (...a: Parameters<typeof prune>) => {
        prunes++;
        return prune(...a);
      }) as typeof prune,
    });
    const run = (scheduler as unknown as { run(job: string, reason: string): Promise<unknown> }).run.bind(scheduler);
    const backups = () => ctx.catalog.listBackups({ job: "config" }).length;
    try {
      await scheduler.start();
      // A job never run is caught up at start.
      await waitFor(() => (backups() === 1 && prunes === 1) || undefined, 30_000, "the catch-up run");
      await run("config", "schedule");
      expect([backups(), prunes]).toEqual([2, 2]);

      offset = YEAR;
      await run("config", "schedule");
      await run("config", "schedule");
      // Both backups taken, neither pruned after: the two correctly dated ones are all still there.
      expect([backups(), prunes]).toEqual([4, 2]);
      expect(ctx.catalog.events({ since: 0, limit: 100 }).filter((e) => e.kind === "clock_jump").map((e) => e.detail)).toEqual([
        expect.stringMatching(/^the clock stepped forward by 365\.0 d while drd ran: pruning is held/),
      ]);
      expect(new Outbox(ctx.catalog.db).undelivered().map((r) => JSON.parse(r.event).event)).toContain("clock_skew");

      // Corrected: prunes again, and the year-ahead backups are kept by the clock rule, the real ones by max_age.
      offset = 0;
      await run("config", "schedule");
      expect([backups(), prunes]).toEqual([5, 3]);
    } finally {
      runtime.stop(new Error("test over"));
      await scheduler.stop();
      ctx.catalog.close();
    }
  });
});
