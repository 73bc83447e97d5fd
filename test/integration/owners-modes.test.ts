import { chmodSync, cpSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingKeyFiles } from "../helpers/signing.js";
import { NobodyDrctl } from "../helpers/unprivileged.js";
import { problems, Workspace } from "../helpers/workspace.js";

const USERS = ["drdt_web", "drdt_db", "drdt_ops"];
const OLD = new Date("2003-04-05T06:07:08Z");

/** What a restore gives back: owners (by name), modes exactly, and every entry's mtime. */
describe("owners, modes and times", () => {
  const ws = new Workspace();
  const src = ws.path("srv");
  const nobody = new NobodyDrctl();
  let id = "";

  /** `stat` of every entry below `dir`, relative: mode, owner and group names, mtime. */
  async function stats(dir: string): Promise<string[]> {
    const { stdout } = await execa("find", [dir, "-mindepth", "1", "-printf", "%P %m %u:%g %T@\n"]);
    return String(stdout)
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/(\d+)\.\d+$/, "$1"))
      .sort();
  }

  beforeAll(async () => {
    for (const u of USERS) {
      await execa("groupadd", ["-f", u]);
      await execa("useradd", ["-M", "-N", "-g", u, "-s", "/usr/sbin/nologin", u], { reject: false });
    }
    mkdirSync(join(src, "shared"), { recursive: true });
    const files: [string, string, number, string][] = [
      ["tls.key", "drdt_web", 0o640, "drdt_ops"],
      ["db.conf", "drdt_db", 0o660, "drdt_db"],
      ["secret.pem", "drdt_ops", 0o400, "drdt_ops"],
      ["shared/app.ini", "drdt_web", 0o644, "drdt_web"],
    ];
    for (const [path, user, mode, group] of files) {
      writeFileSync(join(src, path), `${path}\n`);
      await execa("chown", [`${user}:${group}`, join(src, path)]);
      chmodSync(join(src, path), mode);
    }
    await execa("chown", ["drdt_web:drdt_ops", join(src, "shared")]);
    chmodSync(join(src, "shared"), 0o2775);
    for (const path of ["tls.key", "db.conf", "secret.pem", "shared/app.ini", "shared", "."]) utimesSync(join(src, path), OLD, OLD);
    ws.withJobs({ srv: { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    const run = await ws.drctl(["backup", "srv", "--json"]);
    expect(run.exitCode).toBe(0);
    id = JSON.parse(run.stdout).id;
    await nobody.install();
  });
  afterAll(async () => {
    nobody.remove();
    ws.remove();
    for (const u of USERS) {
      await execa("userdel", [u], { reject: false });
      await execa("groupdel", [u], { reject: false });
    }
  });

  it("as root: owners, modes and mtimes as they were, and as GNU tar extracts them from the same archive", async () => {
    const out = ws.path("out-root");
    const run = await ws.drctl(["restore", "srv", "--to-dir", out, "--full-paths"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    const original = await stats(src);
    expect(original).toContain("shared 2775 drdt_web:drdt_ops 1049522828");
    expect(original).toContain("tls.key 640 drdt_web:drdt_ops 1049522828");
    expect(await stats(join(out, src.slice(1)))).toEqual(original);

    const gnu = ws.path("out-gnu");
    mkdirSync(gnu);
    await execa("sh", ["-c", `zstd -dc ${join(ws.backupDir, "srv", id, "files.tar.zst")} | tar -x --same-owner --same-permissions -C ${gnu}`]);
    expect(await stats(join(gnu, src.slice(1)))).toEqual(original);
  });

  it("--numeric-owner gives files to the recorded ids", async () => {
    const out = ws.path("out-numeric");
    expect((await ws.drctl(["restore", "srv", "--to-dir", out, "--full-paths", "--numeric-owner"])).exitCode).toBe(0);
    expect(await stats(join(out, src.slice(1)))).toEqual(await stats(src));
  });

  it("as an unprivileged user: modes and mtimes as they were, the files its own, and one notice saying so", async () => {
    // A bare machine the unprivileged user can read: a copy of the target, its own state, the public signing key.
    const home = ws.path("nobody-home");
    mkdirSync(join(home, "state"), { recursive: true, mode: 0o700 });
    cpSync(ws.backupDir, join(home, "backups"), { recursive: true });
    cpSync(signingKeyFiles().public, join(home, "signing-public.asc"));
    const config = join(home, "drd.yaml");
    writeFileSync(
      config,
      stringify({
        state_dir: join(home, "state"),
        targets: { local: { type: "local", path: join(home, "backups") } },
        policy: { copies: 1, media: 1, offsite: 0 },
        trust: [join(home, "signing-public.asc")],
        jobs: { srv: { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      }),
    );
    await execa("chown", ["-R", "nobody:nogroup", home]);
    chmodSync(ws.dir, 0o755);
    const out = join(home, "out");
    const run = await nobody.run(config, ["restore", "srv", "--to-dir", out, "--full-paths"]);
    expect(run.exitCode).toBe(0);
    const notices = problems(run.stderr).split("\n").filter((l) => l.includes("owners were not restored"));
    expect(notices).toEqual(["drctl: warning: owners were not restored: restoring as nobody, every file is its own; run the restore as root to give files back to their owners"]);
    const restored = await stats(join(out, src.slice(1)));
    const expected = (await stats(src)).map((l) => l.replace(/ \S+:\S+ /, " nobody:nogroup "));
    expect(restored).toEqual(expected);
  });
});
