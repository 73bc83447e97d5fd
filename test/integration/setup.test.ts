import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, Workspace } from "../helpers/workspace.js";

/**
 * scripts/setup.sh as a user who is not root, on a machine that lacks the system packages:
 * a PATH with only the shell, Node and the few tools the script itself uses.
 */
describe("set-up as a user who is not root, without the system packages", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());
  const bin = ws.path("bin");

  const setup = async (profile: string) => {
    mkdirSync(join(ws.dir, "scripts"), { recursive: true });
    copyFileSync(join(REPO, "scripts", "setup.sh"), join(ws.dir, "scripts", "setup.sh"));
    mkdirSync(bin, { recursive: true });
    for (const tool of ["bash", "node", "dirname", "id", "ls", "timeout"]) {
      const { stdout } = await execa("bash", ["-c", `command -v ${tool}`]);
      symlinkSync(stdout, join(bin, tool));
    }
    chmodSync(ws.dir, 0o755);
    return execa("runuser", ["-u", "nobody", "--", "env", `PATH=${bin}`, "bash", join(ws.dir, "scripts", "setup.sh"), profile], { reject: false });
  };

  it("names exactly the packages the command needs, with the line to install them, and exits 1 having changed nothing", async () => {
    const start = await setup("start");
    expect([start.exitCode, start.stderr.split("\n")]).toEqual([
      1,
      ["setup: missing system packages: postgresql-client zstd tar util-linux", "setup: install them as root, then run this again: apt-get install postgresql-client zstd tar util-linux"],
    ]);
    const test = await execa("runuser", ["-u", "nobody", "--", "env", `PATH=${bin}`, "bash", join(ws.dir, "scripts", "setup.sh"), "test"], { reject: false });
    expect(test.exitCode).toBe(1);
    // The tests' tools are asked for by npm test only, never by npm start.
    expect(test.stderr).toContain("apt-get install postgresql-client zstd tar util-linux gnupg openssl prometheus systemd python3 awscli jq");
    expect(start.stderr).not.toContain("prometheus");
    expect(start.stdout).toBe("");
  });

  it("an unknown profile is a usage error", async () => {
    const r = await execa("bash", [join(REPO, "scripts", "setup.sh"), "everything"], { reject: false });
    expect([r.exitCode, r.stderr]).toEqual([2, "setup: unknown profile 'everything' (start, demo or test)"]);
  });
});
