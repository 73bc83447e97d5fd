import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RecordingProxy } from "../helpers/recording-proxy.js";
import { createBucket, s3TargetConfig } from "../helpers/s3.js";
import { problems, Workspace } from "../helpers/workspace.js";

/**
 * An offsite store slower than the source: the S3 copy falls behind and reads the rest
 * from the local copy's file, so the source (pg_dump, tar) finishes at its own pace
 * instead of the link's, and the copy is still every byte.
 */
describe("an offsite copy slower than the source", () => {
  const ws = new Workspace();
  let proxy: RecordingProxy;

  beforeAll(async () => {
    proxy = await new RecordingProxy(inject("s3Port")).listen();
    mkdirSync(ws.path("src"), { recursive: true });
    // Incompressible: the artifact is 30 MiB, several parts.
    writeFileSync(ws.path("src", "big.bin"), randomBytes(30 * 1024 * 1024));
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir }, offsite: s3TargetConfig(ws.dir, proxy.port, await createBucket(inject("s3Port"), "slow")) },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local", "offsite"] } },
    });
  });
  afterAll(async () => {
    await proxy.close();
    ws.remove();
  });

  it("does not hold the source back: it is done long before the upload, and the S3 copy verifies", async () => {
    // Every answer of the store waits 1.5 s: with two parts in flight the upload needs
    // several seconds, and a source held to its pace could not finish before the first part is answered (3 s).
    proxy.answerDelayMs = 1500;
    const run = await ws.drctl(["backup", "config", "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.stdout) as { id: string; duration_seconds: number; copies: { target: string; state: string }[] };
    expect(out.copies.map((c) => [c.target, c.state])).toEqual([
      ["local", "verified"],
      ["offsite", "verified"],
    ]);
    const manifest = JSON.parse(readFileSync(join(ws.backupDir, "config", out.id, "manifest.json"), "utf8")) as { snapshot_at: string; finished_at: string };
    const producing = (Date.parse(manifest.finished_at) - Date.parse(manifest.snapshot_at)) / 1000;
    expect(producing).toBeLessThan(2);
    expect(out.duration_seconds).toBeGreaterThan(producing + 3);

    proxy.answerDelayMs = 0;
    const verify = await ws.drctl(["verify", "--target", "offsite"]);
    expect(problems(verify.stderr)).toBe("");
    expect(verify.exitCode).toBe(0);
    const to = ws.path("restored");
    const restore = await ws.drctl(["restore", "config", "--from", "offsite", "--to-dir", to]);
    expect(problems(restore.stderr)).toBe("");
    expect(readFileSync(join(to, "src", "big.bin")).equals(readFileSync(ws.path("src", "big.bin")))).toBe(true);
  });
});
