import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { filesBelow } from "../helpers/files.js";
import { createBucket, s3TargetConfig } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";

describe("drctl prune", () => {
  const ws = new Workspace();
  const ids: Record<string, string[]> = { locked: [], plain: [] };

  beforeAll(async () => {
    const port = inject("s3Port");
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "a.conf"), "a = 1\n");
    const job = (targets: string[]) => ({ type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets });
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: {
        local: { type: "local", path: ws.backupDir, retention: { keep_last: 2 } },
        locked: s3TargetConfig(ws.dir, port, await createBucket(port, "lock"), { object_lock: { mode: "GOVERNANCE", days: 30 }, retention: { keep_last: 1 } }),
        cloud: s3TargetConfig(ws.dir, port, await createBucket(port, "cloud"), { retention: { keep_last: 1 } }),
      },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: { locked: job(["local", "locked"]), plain: job(["local", "cloud"]) },
    });
    for (const name of ["locked", "plain"]) {
      for (let i = 0; i < 4; i++) {
        const run = await ws.drctl(["backup", name, "--json"]);
        expect(run.exitCode).toBe(0);
        ids[name]!.unshift(JSON.parse(run.stdout).id);
      }
    }
  });
  afterAll(() => ws.remove());

  it("--dry-run prints the plan with a reason per backup and deletes nothing", async () => {
    const before = filesBelow(ws.backupDir);
    const run = await ws.drctl(["prune", "--dry-run", "--json"]);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout);
    const local = report.actions.filter((a: { target: string; job: string }) => a.target === "local" && a.job === "plain");
    expect(local.map((a: { backup_id: string; action: string }) => [a.backup_id, a.action])).toEqual([
      [ids.plain![0], "keep"], [ids.plain![1], "keep"], [ids.plain![2], "remove"], [ids.plain![3], "remove"],
    ]);
    expect(local[0].reasons).toEqual(["newest backup that meets the policy", "keep_last 2"]);
    expect(local[3].reasons).toEqual(["no rule keeps it"]);
    const locked = report.actions.filter((a: { target: string }) => a.target === "locked");
    expect(locked.map((a: { action: string }) => a.action)).toEqual(["keep", "skip", "skip", "skip"]);
    expect(locked[1].reasons[1]).toMatch(/^under Object Lock until \d{4}-/);
    expect(filesBelow(ws.backupDir)).toEqual(before);
    const dry = (await ws.drctl(["prune", "--dry-run"])).stdout;
    expect(dry).toMatch(/would remove 7, would keep 6, would skip 3 \(dry run: nothing was deleted\)$/);
    // Every row of the plan says what would happen, not what happened.
    expect(dry.split("\n").filter((l) => / (keep|remove|skip) /.test(l) && !/ would (keep|remove|skip) /.test(l))).toEqual([]);
    expect(dry).toMatch(/ would remove {2,}no rule keeps it/);
  });

  it("removes expired copies per target; a backup with no copy left leaves the catalog", async () => {
    const run = await ws.drctl(["prune"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/removed 7, kept 6, skipped 3$/);
    const listed = JSON.parse((await ws.drctl(["list", "--json"])).stdout);
    const byId = Object.fromEntries(listed.map((b: { id: string; copies: { target: string; state: string }[] }) => [b.id, b.copies.map((c) => `${c.target}:${c.state}`).join(" ")]));
    // plain: local keeps 2, cloud keeps 1 -> the two oldest have no copy left and are gone.
    expect(byId[ids.plain![0]!]).toBe("cloud:verified local:verified");
    expect(byId[ids.plain![1]!]).toBe("cloud:deleted local:verified");
    expect(byId[ids.plain![2]!]).toBeUndefined();
    expect(byId[ids.plain![3]!]).toBeUndefined();
    // locked: local copies go, the locked S3 copies stay (skipped, not an error).
    expect(byId[ids.locked![3]!]).toBe("local:deleted locked:verified");
    // The job's signed head sits beside its backups.
    expect(new Set(filesBelow(join(ws.backupDir, "plain")).map((f) => f.split("/")[0]))).toEqual(new Set([ids.plain![0], ids.plain![1], "head.json"]));
  });
});
