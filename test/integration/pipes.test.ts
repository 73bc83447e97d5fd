import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, Workspace } from "../helpers/workspace.js";

/** Output into a pipe whose reader has gone (`drctl list | head`): it ends quietly, and the command's work and exit code stand. */
describe("a closed pipe on stdout", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } });
  afterAll(() => ws.remove());

  it.each(["list", "list --json", "prune --dry-run", "status"])("drctl %s | true: no stack trace, exit 0", async (command) => {
    if (!(await ws.drctl(["list", "--json"])).stdout.includes("config-")) expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    // `true` exits without reading: every write of drctl's finds the pipe closed.
    const drctl = `node ${join(REPO, "bin/drctl.js")} --config ${ws.configPath} ${command}`;
    const run = await execa("bash", ["-c", `set -o pipefail; ${drctl} | true; echo "drctl exited \${PIPESTATUS[0]}" >&2`], { reject: false });
    expect(run.stderr).toBe("drctl exited 0");
  });
});
