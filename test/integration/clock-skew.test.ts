import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Workspace } from "../helpers/workspace.js";

/**
 * One backup taken while drd's clock was a year ahead (DRD_TEST_CLOCK_OFFSET plays the bad
 * RTC or the wrong NTP answer), then the clock right again, then stepped back two days.
 */
describe("a clock that jumps", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  ws.writeConfig({
    state_dir: ws.stateDir,
    timezone: "Europe/Berlin",
    targets: { local: { type: "local", path: ws.backupDir, retention: { max_age: "1d" } } },
    policy: { copies: 1, media: 1, offsite: 0 },
    jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } },
    alerts: [{ type: "command", name: "pager", command: ["sh", "-c", `cat >> ${ws.path("paged.jsonl")}; echo >> ${ws.path("paged.jsonl")}`] }],
  });
  afterAll(() => ws.remove());
  const ahead = { env: { DRD_TEST_CLOCK_OFFSET: "365d" } };
  const behind = { env: { DRD_TEST_CLOCK_OFFSET: "-2d" } };

  it("a backup stamped a year ahead is kept and flagged, and never decides RPO or retention", async () => {
    for (let i = 0; i < 2; i++) expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    const future = await ws.drctl(["backup", "config", "--json"], ahead);
    expect(future.exitCode).toBe(0);
    const futureId = JSON.parse(future.stdout).id as string;

    const plan = await ws.drctl(["prune", "--dry-run", "--json"]);
    expect(plan.exitCode).toBe(0);
    const actions = JSON.parse(plan.stdout).actions as { backup_id: string; action: string; reasons: string[] }[];
    expect(actions.map((a) => a.action)).toEqual(["keep", "keep", "keep"]);
    expect(actions.find((a) => a.backup_id === futureId)!.reasons).toEqual(["dated ahead of the clock (clock skew): kept until the clock passes it"]);

    const [status] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { last_backup_id: string; age_seconds: number; rpo_state: string; clock_skew: { backup_ids: string[] } }[];
    expect(status!.last_backup_id).not.toBe(futureId);
    expect(status!.clock_skew.backup_ids).toEqual([futureId]);
    expect(status!.rpo_state).toBe("ok");
    expect((await ws.drctl(["status"])).stdout).toMatch(/clock {2}1 backup dated ahead of this clock \(newest 2027-\d\d-\d\d \d\d:\d\d:\d\dZ\):\n {18}kept; counted for neither RPO nor retention/);

    const events = JSON.parse((await ws.drctl(["events", "--json"])).stdout) as { kind: string; backup_id: string | null }[];
    expect(events.filter((e) => e.kind === "clock_skew").map((e) => e.backup_id)).toEqual([futureId]);
    const paged = readFileSync(ws.path("paged.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { event: string; details: { backup_id?: string } });
    expect(paged.filter((m) => m.event === "clock_skew").map((m) => m.details.backup_id)).toEqual([futureId]);
  });

  it("a clock stepped back two days: prune removes nothing, and a backup taken then is kept too", async () => {
    expect((await ws.drctl(["backup", "config"], behind)).exitCode).toBe(0);
    const pruned = await ws.drctl(["prune", "--json"], behind);
    expect(pruned.exitCode).toBe(0);
    expect(JSON.parse(pruned.stdout).removed).toBe(0);
    const list = JSON.parse((await ws.drctl(["list", "config", "--json"])).stdout) as unknown[];
    expect(list).toHaveLength(4);
  });

  it("restore --at without an offset is read in the config's timezone, and says the instant it chose", async () => {
    const r = await ws.drctl(["restore", "config", "--at", "2026-11-23 10:00", "--to-dir", ws.path("out"), "--dry-run"]);
    expect(r.stderr).toContain("drctl: --at 2026-11-23 10:00 read in Europe/Berlin (the config's timezone) as 2026-11-23T09:00:00.000Z");
  });
});
