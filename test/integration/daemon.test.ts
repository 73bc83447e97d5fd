import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { Workspace } from "../helpers/workspace.js";

describe("drctl daemon", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } });
  afterAll(() => ws.remove());

  it("refuses to run as root without --allow-root (exit 2)", async () => {
    if (process.getuid?.() !== 0) throw new Error("this suite runs as root, as CI does");
    const run = await ws.drctl(["daemon"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^drctl: refusing to run as root/);
  });

  it("runs a never-run job at start (catch-up), logs JSON, and stops cleanly on SIGTERM", async () => {
    const daemon = ws.drctl(["daemon", "--allow-root"]);
    let stdout = "";
    daemon.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => stdout.includes('"msg":"backup done"'), 30_000, "the catch-up backup");
    const listed = JSON.parse((await ws.drctl(["list", "--json"])).stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0].copies[0].state).toBe("verified");
    daemon.kill("SIGTERM");
    const result = await daemon;
    expect(result.exitCode).toBe(0);
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["drd starting", "scheduled", "backup done", "drd stopped"]));
    expect(lines.find((l) => l.msg === "scheduled").next).toMatch(/T03:00:00.000Z$/);
  });
});
