import { readFileSync, readdirSync, statSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { REPO, Workspace } from "../helpers/workspace.js";

const INSTALL = join(REPO, "scripts/install.sh");

/** Every path under root except the npm packages, with its mode: what a package would ship. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      out.push(`${(st.mode & 0o7777).toString(8)} ${relative(root, path)}`);
      if (st.isDirectory() && name !== "node_modules" && name !== "bundle") walk(path);
    }
  };
  walk(root);
  return out;
}

describe("scripts/install.sh into a DESTDIR (a package's staging tree)", () => {
  const ws = new Workspace();
  const dest = ws.path("dest");
  afterAll(() => ws.remove());

  it("lays out the program, drctl, the unit, sysusers/tmpfiles entries, the directories with their modes and the example config", async () => {
    const run = await execa("bash", [INSTALL, "--destdir", dest], { reject: false });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const listed = tree(dest);
    for (const entry of [
      "750 etc/drd",
      "640 etc/drd/drd.yaml",
      "700 etc/drd/keys",
      "644 etc/systemd/system/drd.service",
      "755 opt/drd",
      "755 opt/drd/current/bin/drctl.js",
      "755 opt/drd/current/bundle",
      "755 opt/drd/releases",
      "755 usr/bin/drctl",
      "644 usr/lib/sysusers.d/drd.conf",
      "644 usr/lib/tmpfiles.d/drd.conf",
      "700 var/backups/drd",
      "700 var/lib/drd",
    ])
      expect(listed).toContain(entry);
    expect(readFileSync(join(dest, "etc/drd/drd.yaml"), "utf8")).toBe(readFileSync(join(REPO, "config/drd.example.yaml"), "utf8"));
    expect(readFileSync(join(dest, "usr/bin/drctl"), "utf8")).toMatch(/^exec \/\S+\/node \/opt\/drd\/current\/bin\/drctl\.js "\$@"$/m);
    expect(readFileSync(join(dest, "usr/lib/sysusers.d/drd.conf"), "utf8")).toMatch(/^u drd - "drd backup daemon" \/var\/lib\/drd \/usr\/sbin\/nologin$/m);
    expect(readFileSync(join(dest, "usr/lib/tmpfiles.d/drd.conf"), "utf8")).toMatch(/^d \/etc\/drd 0750 root drd -\nz \/etc\/drd\/drd\.yaml 0640 root drd -\nd \/etc\/drd\/keys 0700 drd drd -\nd \/var\/lib\/drd 0700 drd drd -\nd \/var\/backups\/drd 0700 drd drd -$/m);
    // The unit's documentation is a file this install put in place.
    const documentation = /^Documentation=file:\/\/(\S+)$/m.exec(readFileSync(join(dest, "etc/systemd/system/drd.service"), "utf8"))![1]!;
    expect(existsSync(join(dest, documentation))).toBe(true);
    // Production packages only: the test tools are not shipped.
    expect(existsSync(join(dest, "opt/drd/current/node_modules/better-sqlite3/build/Release/better_sqlite3.node"))).toBe(true);
    expect(existsSync(join(dest, "opt/drd/current/node_modules/vitest"))).toBe(false);
    expect(existsSync(join(dest, "opt/drd/current/node_modules/s3rver"))).toBe(false);
    // Nor what the bundle carries inside it, nor optional peers of bundled packages.
    for (const bundled of ["typescript", "@aws-sdk", "openpgp", "tar", "zod"]) expect(existsSync(join(dest, "opt/drd/current/node_modules", bundled)), bundled).toBe(false);
  });

  it("the installed unit scores 1.5 or less and passes systemd-analyze verify", async () => {
    const unit = join(dest, "etc/systemd/system/drd.service");
    const { stdout } = await execa("systemd-analyze", ["security", "--offline=true", "--no-pager", unit]);
    expect(Number(/Overall exposure level for drd\.service: ([\d.]+)/.exec(stdout)?.[1])).toBeLessThanOrEqual(1.5);
    // verify checks that ExecStart's program exists: point it at the staged drctl.
    const staged = ws.path("drd.service");
    writeFileSync(staged, readFileSync(unit, "utf8").replace("ExecStart=/usr/bin/drctl", `ExecStart=${join(dest, "usr/bin/drctl")}`));
    const verify = await execa("systemd-analyze", ["verify", staged], { reject: false });
    expect(verify.stderr).toBe("");
    expect(verify.exitCode).toBe(0);
  });

  it("the staged program runs a backup on its own packages", async () => {
    mkdirSync(ws.path("src"));
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } });
    const drctl = (args: string[]) => execa("node", [join(dest, "opt/drd/current/bin/drctl.js"), "--config", ws.configPath, "--allow-root", ...args], { reject: false });
    expect((await drctl(["--version"])).stdout).toBe(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version);
    const backup = await drctl(["backup", "config"]);
    expect(backup.stderr).toBe("");
    expect(backup.exitCode).toBe(0);
    expect(JSON.parse((await drctl(["list", "--json"])).stdout)).toHaveLength(1);
  });

  it("is idempotent: a second run gives the same tree and keeps an edited config", async () => {
    const before = tree(dest);
    writeFileSync(join(dest, "etc/drd/drd.yaml"), "# edited by the operator\n");
    const again = await execa("bash", [INSTALL, "--destdir", dest], { reject: false });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("kept the existing config /etc/drd/drd.yaml");
    expect(tree(dest)).toEqual(before);
    expect(readFileSync(join(dest, "etc/drd/drd.yaml"), "utf8")).toBe("# edited by the operator\n");
    expect(readdirSync(join(dest, "opt")).sort()).toEqual(["drd"]);
  });

  it("--prefix puts the program elsewhere and drctl points there", async () => {
    const other = ws.path("dest2");
    expect((await execa("bash", [INSTALL, "--destdir", other, "--prefix", "/usr/local/lib/drd"], { reject: false })).exitCode).toBe(0);
    expect(existsSync(join(other, "usr/local/lib/drd/current/bin/drctl.js"))).toBe(true);
    expect(readFileSync(join(other, "usr/bin/drctl"), "utf8")).toContain(" /usr/local/lib/drd/current/bin/drctl.js ");
  });

  it("--uninstall removes the program, drctl and the unit, and leaves the config, the catalog and the backups", async () => {
    writeFileSync(join(dest, "var/lib/drd/catalog.sqlite"), "the catalog");
    mkdirSync(join(dest, "var/backups/drd/config"));
    const run = await execa("bash", [INSTALL, "--destdir", dest, "--uninstall"], { reject: false });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("kept: /etc/drd (config and keys), /var/lib/drd (catalog, audit trail), /var/backups/drd (backups) and the drd user");
    expect(tree(dest)).toEqual([
      "755 etc",
      "750 etc/drd",
      "640 etc/drd/drd.yaml",
      "700 etc/drd/keys",
      "755 etc/systemd",
      "755 etc/systemd/system",
      "755 opt",
      "755 usr",
      "755 usr/bin",
      "755 usr/lib",
      "755 usr/lib/sysusers.d",
      "755 usr/lib/tmpfiles.d",
      "755 var",
      "755 var/backups",
      "700 var/backups/drd",
      "755 var/backups/drd/config",
      "755 var/lib",
      "700 var/lib/drd",
      "644 var/lib/drd/catalog.sqlite",
    ]);
  });

  it("refuses a relative prefix and an unknown flag with exit 2", async () => {
    const relativePrefix = await execa("bash", [INSTALL, "--destdir", ws.path("x"), "--prefix", "opt/drd"], { reject: false });
    expect(relativePrefix.exitCode).toBe(2);
    expect(relativePrefix.stderr).toBe("install.sh: --prefix must be an absolute path, not opt/drd");
    const unknown = await execa("bash", [INSTALL, "--frobnicate"], { reject: false });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe("install.sh: unknown argument --frobnicate (see --help)");
  });
});

/**
 * A real install, as root on this machine, but inside a private mount namespace whose /etc,
 * /opt, /usr and /var are overlays: the user, the owners and the program land in the
 * overlays and vanish with the namespace.
 */
describe("scripts/install.sh on a machine (in a throwaway mount namespace)", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("creates the drd user and its directories owned right; drd backs up with the installed drctl; an upgrade keeps the config; uninstall keeps the data", async () => {
    writeFileSync(
      ws.path("drd.yaml"),
      [
        "state_dir: /var/lib/drd",
        "targets: { local: { type: local, path: /var/backups/drd } }",
        "policy: { copies: 1, media: 1, offsite: 0 }",
        'jobs: { config: { type: files, paths: [/opt/src], schedule: "0 3 * * *", rpo: 1d, targets: [local] } }',
        "signing: { key_file: /etc/drd/keys/signing-secret.asc }",
        "",
      ].join("\n"),
    );
    const script = `
      set -euo pipefail
      for d in etc opt usr var; do
        mkdir -p ${ws.dir}/upper/$d ${ws.dir}/work/$d
        mount -t overlay overlay -o lowerdir=/$d,upperdir=${ws.dir}/upper/$d,workdir=${ws.dir}/work/$d /$d
      done
      userdel drd >/dev/null 2>&1 || true
      bash ${INSTALL} >${ws.dir}/first.out
      echo "user $(id -u drd >/dev/null && echo drd)"
      for p in /etc/drd /etc/drd/drd.yaml /etc/drd/keys /var/lib/drd /var/backups/drd /opt/drd /opt/drd/current/bundle/main.js /usr/bin/drctl; do
        echo "stat $(stat -c '%a %U:%G %n' $p)"
      done
      mkdir -p /opt/src && echo "x = 1" > /opt/src/app.conf
      cat ${ws.path("drd.yaml")} > /etc/drd/drd.yaml
      runuser -u drd -- drctl keys init --dir /etc/drd/keys >/dev/null
      runuser -u drd -- drctl backup config >/dev/null
      echo "listed $(runuser -u drd -- drctl list --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')"
      echo "catalog $(stat -c '%a %U' /var/lib/drd/catalog.sqlite)"
      bash ${INSTALL} >${ws.dir}/second.out
      echo "config-kept $(grep -c '/opt/src' /etc/drd/drd.yaml)"
      bash ${INSTALL} --uninstall >${ws.dir}/third.out
      for p in /opt/drd /usr/bin/drctl /etc/systemd/system/drd.service /etc/drd/drd.yaml /var/lib/drd/catalog.sqlite; do
        echo "exists $p $([ -e $p ] && echo yes || echo no)"
      done
      echo "user-after $(id -un drd)"
    `;
    const run = await execa("unshare", ["--mount", "--propagation", "private", "bash", "-c", script], { reject: false });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines).toEqual([
      "user drd",
      "stat 750 root:drd /etc/drd",
      "stat 640 root:drd /etc/drd/drd.yaml",
      "stat 700 drd:drd /etc/drd/keys",
      "stat 700 drd:drd /var/lib/drd",
      "stat 700 drd:drd /var/backups/drd",
      "stat 755 root:root /opt/drd",
      "stat 644 root:root /opt/drd/current/bundle/main.js",
      "stat 755 root:root /usr/bin/drctl",
      "listed 1",
      "catalog 600 drd",
      "config-kept 1",
      "exists /opt/drd no",
      "exists /usr/bin/drctl no",
      "exists /etc/systemd/system/drd.service no",
      "exists /etc/drd/drd.yaml yes",
      "exists /var/lib/drd/catalog.sqlite yes",
      "user-after drd",
    ]);
    expect(readFileSync(ws.path("first.out"), "utf8")).toContain("install.sh: created the system user drd");
    expect(readFileSync(ws.path("second.out"), "utf8")).toContain("install.sh: kept the existing config /etc/drd/drd.yaml");
  });
});

/**
 * An upgrade while the daemon runs: release A (this checkout) runs, release B (a copy with
 * another version and build) is installed over it. A goes on working from its own
 * directory until it stops; the next install then removes it.
 */
describe("scripts/install.sh under a running daemon (DESTDIR)", () => {
  const ws = new Workspace();
  const dest = ws.path("dest");
  afterAll(() => ws.remove());

  it("the old release keeps drilling, copying and alerting; status and /metrics name the running build; an old release goes once unused and no longer the previous", async () => {
    expect((await execa("bash", [INSTALL, "--destdir", dest], { reject: false })).exitCode).toBe(0);
    const releases = () => readdirSync(join(dest, "opt/drd/releases")).sort();
    const [a] = releases();
    const buildA = readFileSync(join(REPO, "bundle/BUILD"), "utf8").trim();
    expect(a).toBe(`0.1.0-${buildA}`);

    const next = ws.path("next");
    mkdirSync(next);
    for (const f of ["package.json", "package-lock.json", "README.md", "bin", "bundle", "config", "systemd", "scripts", "node_modules"]) await execa("cp", ["-a", join(REPO, f), next]);
    writeFileSync(join(next, "package.json"), readFileSync(join(REPO, "package.json"), "utf8").replace('"version": "0.1.0"', '"version": "0.2.0"'));
    writeFileSync(join(next, "bundle/BUILD"), "b2b2b2b2b2b2\n");

    mkdirSync(ws.path("src"));
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir }, second: { type: "local", path: ws.path("second") } },
      policy: { copies: 2, media: 1, offsite: 0 },
      jobs: {
        config: { type: "files", paths: [ws.path("src")], schedule: "*/2 * * * * *", rpo: "1d", targets: ["local", "second"], drill: { schedule: "*/3 * * * * *", from: "second" } },
        broken: { type: "files", paths: [ws.path("missing")], schedule: "*/2 * * * * *", rpo: "1d", targets: ["local"] },
      },
      alerts: [{ type: "command", name: "pager", command: ["sh", "-c", `cat >> ${ws.path("paged.jsonl")}; echo >> ${ws.path("paged.jsonl")}`], events: ["backup_failed"] }],
      metrics: { listen: "127.0.0.1:0" },
      // The broken job's failures are told again at every run: an alert after the upgrade.
      renotify: "1s",
    });
    const installed = (args: string[]) => execa("node", [join(dest, "opt/drd/current/bin/drctl.js"), "--config", ws.configPath, "--allow-root", ...args], { reject: false });
    const daemon = installed(["daemon"]);
    let log = "";
    daemon.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    try {
      const listen = await waitFor(() => /"listen":"([^"]+)","msg":"metrics served/.exec(log)?.[1], 30_000, "the daemon");
      expect(log).toContain(`"version":"0.1.0","build":"${buildA}","msg":"drd starting"`);

      const b = await execa("bash", [join(next, "scripts/install.sh"), "--destdir", dest], { reject: false });
      expect(b.exitCode).toBe(0);
      expect(releases()).toEqual([a, "0.2.0-b2b2b2b2b2b2"]);
      expect(b.stdout).toContain(`kept ${a}: a process still runs from it`);
      const upgradedAt = Date.now();

      // After the install: a drill that restored, a backup on both targets, an alert delivered.
      const since = log.length;
      await waitFor(() => /"ok":true[^\n]*"msg":"drill done"/.test(log.slice(since)) || undefined, 20_000, "a drill after the upgrade");
      await waitFor(() => /"target":"second","state":"verified"[^\n]*"msg":"backup done"/.test(log.slice(since)) || undefined, 20_000, "a backup on both targets after the upgrade");
      const paged = () => readFileSync(ws.path("paged.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp));
      await waitFor(() => paged().some((t) => t >= upgradedAt) || undefined, 20_000, "an alert after the upgrade");
      expect(log).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND/);

      const status = await installed(["status"]);
      expect(status.stdout).toContain(`running drd 0.1.0 (build ${buildA}); installed: drd 0.2.0 (build b2b2b2b2b2b2): restart the daemon to run it`);
      expect(await (await fetch(`http://${listen}/metrics`)).text()).toContain(`drd_build_info{version="0.1.0",build="${buildA}"} 1`);
    } finally {
      daemon.kill("SIGTERM");
      await daemon;
    }
    // The release before the installed one stays (a drctl that has loaded no file of it yet
    // is not seen); one older than that goes once nothing runs from it.
    const again = await execa("bash", [join(next, "scripts/install.sh"), "--destdir", dest], { reject: false });
    expect(again.exitCode).toBe(0);
    expect(releases()).toEqual([a, "0.2.0-b2b2b2b2b2b2"]);
    writeFileSync(join(next, "bundle/BUILD"), "c3c3c3c3c3c3\n");
    expect((await execa("bash", [join(next, "scripts/install.sh"), "--destdir", dest], { reject: false })).exitCode).toBe(0);
    expect(releases()).toEqual(["0.2.0-b2b2b2b2b2b2", "0.2.0-c3c3c3c3c3c3"]);
  });
});
