import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { listedEntries } from "../helpers/listing.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NobodyDrctl } from "../helpers/unprivileged.js";
import { signingKeyFiles } from "../helpers/signing.js";
import { Workspace } from "../helpers/workspace.js";

describe("files jobs as an unprivileged user", () => {
  const ws = new Workspace();
  const nobody = new NobodyDrctl();
  const src = ws.path("src");

  beforeAll(async () => {
    await nobody.install();
    chmodSync(ws.dir, 0o755);
    mkdirSync(join(src, "private"), { recursive: true });
    writeFileSync(join(src, "readable.conf"), "ok\n");
    writeFileSync(join(src, "shadow"), "secret\n");
    writeFileSync(join(src, "private", "inside"), "x\n");
    chmodSync(join(src, "shadow"), 0o600);
    chmodSync(join(src, "private"), 0o700);
    mkdirSync(ws.stateDir, { mode: 0o700 });
    mkdirSync(ws.backupDir, { mode: 0o700 });
    nobody.give(ws.stateDir);
    nobody.give(ws.backupDir);
    const common = { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] };
    // The signing key belongs to the user drd runs as, 0600, as in production.
    copyFileSync(signingKeyFiles().secret, ws.path("signing-secret.asc"));
    nobody.give(ws.path("signing-secret.asc"));
    ws.withJobs({ strict: common, lenient: { ...common, skip_unreadable: true } }, { signing: { key_file: ws.path("signing-secret.asc") } });
    chmodSync(ws.configPath, 0o644);
  });
  afterAll(() => {
    nobody.remove();
    ws.remove();
  });

  it("fails the run naming every unreadable path, and registers nothing", async () => {
    const run = await nobody.run(ws.configPath, ["backup", "strict"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(`drctl: cannot read 2 path(s): ${join(src, "private")}, ${join(src, "shadow")} (set skip_unreadable: true to skip them)`);
    expect(JSON.parse((await nobody.run(ws.configPath, ["list", "--json"])).stdout)).toEqual([]);
  });

  it("with skip_unreadable, archives the rest and records what it skipped; files are 0600, dirs 0700", async () => {
    const run = await nobody.run(ws.configPath, ["backup", "lenient", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const id = JSON.parse(run.stdout).id;
    const dir = join(ws.backupDir, "lenient", id);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest.files.skipped).toEqual([
      { path: join(src, "private"), reason: "unreadable" },
      { path: join(src, "shadow"), reason: "unreadable" },
    ]);
    // Said by the command too: in --json, and as a warning on a person's terminal.
    expect(JSON.parse(run.stdout).skipped).toEqual({ count: 2, first: manifest.files.skipped });
    const told = await nobody.run(ws.configPath, ["backup", "lenient"]);
    expect(told.stderr).toBe(`drctl: warning: 2 path(s) left out (skip_unreadable, or not a file, directory or symlink): ${join(src, "private")} (unreadable), ${join(src, "shadow")} (unreadable)`);
    expect((await listedEntries(dir)).map((e) => e.path)).toEqual([`${src.slice(1)}/`, join(src, "readable.conf").slice(1)]);
    const modes = await execa("stat", ["-c", "%a %U %n", dir, join(dir, "manifest.json"), join(dir, "files.tar.zst"), join(ws.stateDir, "catalog.sqlite")]);
    expect(modes.stdout.split("\n").map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["700 nobody", "600 nobody", "600 nobody", "600 nobody"]);
  });
});
