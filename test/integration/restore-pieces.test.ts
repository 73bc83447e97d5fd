import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flipByte } from "../helpers/files.js";
import { Workspace, problems } from "../helpers/workspace.js";

const MiB = 1 << 20;

// An artifact of three 16 MiB pieces (a first backup's piece size): the restore starts extracting piece 1 while the
// rest downloads, so a damaged piece 2 is found after data was already written.
describe("a restore that finds a damaged piece after loading began", () => {
  const ws = new Workspace();
  let id = "";

  beforeAll(async () => {
    const src = ws.path("data");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "first.bin"), randomBytes(24 * MiB));
    writeFileSync(join(src, "second.bin"), randomBytes(16 * MiB));
    ws.withJobs({ big: { type: "files", paths: [src], compression: "none", schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    const run = await ws.drctl(["backup", "big", "--json"]);
    expect(run.exitCode).toBe(0);
    id = JSON.parse(run.stdout).id;
  }, 120_000);
  afterAll(() => ws.remove());

  it("stops with exit 3 naming the piece, and removes everything it wrote", async () => {
    const artifact = join(ws.backupDir, "big", id, "files.tar");
    expect(statSync(artifact).size).toBeGreaterThan(32 * MiB);
    flipByte(artifact, 20 * MiB);
    const to = ws.path("restored");
    const run = await ws.drctl(["restore", "big", "--to-dir", to]);
    expect(problems(run.stderr)).toMatch(/^drctl: files\.tar from local does not match its record: sha256 of piece 2 of 3 is [0-9a-f]{64}, expected [0-9a-f]{64}; restore refused$/);
    expect(run.exitCode).toBe(3);
    expect(existsSync(to)).toBe(false);
    // Nor the downloaded copy in its work directory.
    expect(readdirSync(ws.stateDir).filter((e) => e.startsWith("restore-"))).toEqual([]);
  }, 120_000);

  it("restores the same backup once the copy is whole again", async () => {
    flipByte(join(ws.backupDir, "big", id, "files.tar"), 20 * MiB);
    const to = ws.path("restored-again");
    const run = await ws.drctl(["restore", "big", "--to-dir", to]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(statSync(join(to, "data", "first.bin")).size).toBe(24 * MiB);
  }, 120_000);
});
