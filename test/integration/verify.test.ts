import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flipByte } from "../helpers/files.js";
import { Workspace } from "../helpers/workspace.js";


describe("drctl verify", () => {
  const ws = new Workspace();
  const ids: string[] = [];
  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "a.conf"), "a".repeat(10_000));
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    for (let i = 0; i < 3; i++) ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
  });
  afterAll(() => ws.remove());

  it("passes intact copies with exit 0", async () => {
    const run = await ws.drctl(["verify", "--job", "config", "--json"]);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).map((r: { state: string }) => r.state)).toEqual(["verified", "verified", "verified"]);
  });

  it("catches one flipped byte: exit 3, the copy marked corrupt, the backup out of policy", async () => {
    flipByte(join(ws.backupDir, "config", ids[1]!, "files.tar.zst"), 40);
    const run = await ws.drctl(["verify", ids[1]!]);
    expect(run.exitCode).toBe(3);
    expect(run.stdout).toMatch(/corrupt/);
    expect(run.stderr).toMatch(/integrity failure/);
    const listed = JSON.parse((await ws.drctl(["list", "--json"])).stdout);
    const bad = listed.find((b: { id: string }) => b.id === ids[1]);
    expect(bad.policy_ok).toBe(false);
    expect(bad.copies[0].state).toBe("corrupt");
    expect(listed.filter((b: { policy_ok: boolean }) => b.policy_ok)).toHaveLength(2);
    const catalog = new Database(join(ws.stateDir, "catalog.sqlite"), { readonly: true });
    const events = catalog.prepare(`SELECT kind, backup_id, target FROM events WHERE kind IN ('copy_corrupt', 'policy_lost') ORDER BY id`).all();
    catalog.close();
    expect(events).toEqual([
      { kind: "copy_corrupt", backup_id: ids[1], target: "local" },
      { kind: "policy_lost", backup_id: ids[1], target: null },
    ]);
  });

  it("reports a copy deleted behind drd's back as missing, exit 3", async () => {
    rmSync(join(ws.backupDir, "config", ids[2]!, "files.tar.zst"));
    const run = await ws.drctl(["verify", "--job", "config", "--json"]);
    expect(run.exitCode).toBe(3);
    const byId = Object.fromEntries(JSON.parse(run.stdout).map((r: { backup_id: string; state: string }) => [r.backup_id, r.state]));
    expect(byId).toEqual({ [ids[0]!]: "verified", [ids[1]!]: "corrupt", [ids[2]!]: "missing" });
  });

  it("refuses an unknown backup id with exit 2", async () => {
    const run = await ws.drctl(["verify", "config-nope"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe('drctl: no backup with id "config-nope" in the catalog\n'.trimEnd());
  });
});
