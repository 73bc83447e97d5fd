import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flipByte } from "../helpers/files.js";
import { freePort } from "../helpers/postgres-cluster.js";
import { s3TargetConfig } from "../helpers/s3.js";
import { REPO, Workspace } from "../helpers/workspace.js";

/**
 * drctl at 3 a.m.: names that say what exists, a backup that says when it misses the
 * policy, and replicate that fails only for what it could have written.
 */
describe("drctl names, policy output and replicate's exit code", () => {
  const ws = new Workspace();
  let first = "";
  let second = "";
  beforeAll(async () => {
    mkdirSync(ws.path("src"));
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    const deadPort = await freePort();
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: {
        local: { type: "local", path: ws.backupDir },
        // Nothing listens there: every copy to it stays pending.
        offsite: s3TargetConfig(ws.dir, deadPort, "drd-unreachable"),
      },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: {
        first: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local", "offsite"] },
        second: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] },
      },
    });
  });
  afterAll(() => ws.remove());

  it("a backup that lands but misses the policy says so, with the pending copy and its next retry; --json has policy_ok and each copy", async () => {
    const run = await ws.drctl(["backup", "first"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^ {2}local: verified$/m);
    expect(run.stdout).toMatch(/^ {2}offsite: pending \(.*ECONNREFUSED.*\), next retry \d\d:\d\d:\d\d UTC$/m);
    expect(run.stderr).toMatch(/^drctl: policy NOT met: 1 of 2 verified copies, 1 of 2 media kinds, 0 of 1 offsite copies; offsite pending, next retry \d\d:\d\d:\d\d UTC$/);

    const asJson = await ws.drctl(["backup", "first", "--json"]);
    expect(asJson.exitCode).toBe(0);
    const out = JSON.parse(asJson.stdout);
    first = out.id;
    expect(out).toMatchObject({ job: "first", policy_ok: false, policy: { ok: false, copies: 1, missing: ["1 of 2 verified copies", "1 of 2 media kinds", "0 of 1 offsite copies"] } });
    expect(out.duration_seconds).toBeGreaterThan(0);
    expect(out.copies.map((c: { target: string; state: string }) => [c.target, c.state])).toEqual([["local", "verified"], ["offsite", "pending"]]);
    expect(Date.parse(out.copies[1].next_attempt_at)).toBeGreaterThan(Date.now());
    expect(Object.keys(out).filter((k) => /[A-Z]/.test(k))).toEqual([]);

    const met = await ws.drctl(["backup", "second"]);
    expect(met.stderr).toBe("drctl: policy NOT met: 1 of 2 verified copies, 1 of 2 media kinds, 0 of 1 offsite copies");
    second = JSON.parse((await ws.drctl(["list", "second", "--json"])).stdout)[0].id;
  });

  it("list keeps to 80 columns on a terminal and says where the detail is; --long gives what the policy misses", async () => {
    const shown = await onTerminal(ws, ["list"]);
    expect(shown.exitCode).toBe(0);
    const lines = shown.screen.split(/\r?\n/).filter((l) => l);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^ID +SNAPSHOT +SIZE +POLICY: COPIES$/);
    expect(lines.filter((l) => l.endsWith("SHORT: local offsite:pending")).length).toBeGreaterThan(0);
    expect(lines.at(-1)).toBe("(SHORT: policy not met; drctl list --long or drctl status says what is missing)");
    const long = await ws.drctl(["list", "--long"]);
    expect(long.stdout).toContain("short: 1 of 2 verified copies, 1 of 2 media kinds, 0 of 1 offsite copies");
    expect(long.stdout.split("\n")[0]).toMatch(/^ID +JOB +KIND +SNAPSHOT +SIZE +POLICY +COPIES$/);
  });

  it("status, events and prune fit an 80-column terminal, the free text wrapped under its row; in a pipe each row stays one line", async () => {
    for (const args of [["status"], ["events"], ["prune", "--dry-run"]]) {
      const shown = await onTerminal(ws, args);
      // eslint-disable-next-line no-control-regex
      const lines = shown.screen.replace(/\u001b\[\d+m/g, "").split(/\r?\n/);
      expect([args.join(" "), lines.filter((l) => l.length > 80)]).toEqual([args.join(" "), []]);
    }
    const events = (await onTerminal(ws, ["events"])).screen.split(/\r?\n/);
    expect(events[0]).toMatch(/^TIME +EVENT +JOB +DETAIL$/);
    expect(events.some((l) => /^ {4}\S/.test(l))).toBe(true);
    const piped = (await ws.drctl(["events"])).stdout.split("\n");
    expect(piped.filter((l) => /^ {4}\S/.test(l))).toEqual([]);
    expect(piped.some((l) => l.length > 80)).toBe(true);
  });

  it("an unknown target in --from or --target is exit 2 listing the known ones, in every command", async () => {
    const expected = 'drctl: unknown target "nowhere" (targets: local, offsite)';
    for (const args of [
      ["restore", "first", "--from", "nowhere", "--to-dir", ws.path("out")],
      ["drill", "first", "--from", "nowhere"],
      ["verify", "--job", "first", "--target", "nowhere"],
      ["list", "--from", "nowhere"],
      ["catalog", "rebuild", "--from", "nowhere"],
    ]) {
      const run = await ws.drctl(args);
      expect([args.join(" "), run.exitCode, run.stderr]).toEqual([args.join(" "), 2, expected]);
    }
  });

  it("a backup id under the wrong job says which job it belongs to", async () => {
    const run = await ws.drctl(["restore", "first", "--backup", second, "--to-dir", ws.path("out")]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(`drctl: backup ${second} belongs to job second, not first (drctl restore second --backup ${second})`);
  });

  it("replicate: copies whose only source is corrupt are reported and recorded once, and fail neither this run nor later ones", async () => {
    // Both backups of `first` lose their only good copy.
    const ids = (JSON.parse((await ws.drctl(["list", "first", "--json"])).stdout) as { id: string }[]).map((b) => b.id);
    expect(ids).toHaveLength(2);
    expect(ids).toContain(first);
    for (const id of ids) {
      const dir = join(ws.backupDir, "first", id);
      flipByte(join(dir, readdirSync(dir).find((f) => f.startsWith("files."))!), 100);
    }
    expect((await ws.drctl(["verify", "--job", "first"])).exitCode).toBe(3);

    for (let run = 0; run < 2; run++) {
      const out = await ws.drctl(["replicate", "--job", "first", "--json"]);
      const results = JSON.parse(out.stdout) as { backup_id: string; state: string; error: string }[];
      expect(results.map((r) => [r.backup_id, r.state, r.error]).sort()).toEqual(
        ids.map((id) => [id, "no_source", "no verified copy to copy from (local corrupt); a new backup replaces it"]).sort(),
      );
      expect(out.exitCode).toBe(0);
    }
    const human = await ws.drctl(["replicate", "--job", "first"]);
    expect(human.exitCode).toBe(0);
    expect(human.stderr).toBe("drctl: warning: 2 copies cannot be written: no verified copy is left to copy from (drctl verify; the next backup replaces them)");
    const events = JSON.parse((await ws.drctl(["events", "--json", "--job", "first"])).stdout) as { kind: string; backup_id: string }[];
    expect(events.filter((e) => e.kind === "copy_unsourced").map((e) => e.backup_id).sort()).toEqual([...ids].sort());
  });
});

/** drctl run on a real pseudo-terminal (util-linux `script`), as an operator at a shell sees it. */
async function onTerminal(ws: Workspace, args: string[]): Promise<{ exitCode: number; screen: string }> {
  const { execa } = await import("execa");
  const command = ["node", join(REPO, "bin/drctl.js"), "--config", ws.configPath, ...args].map((a) => `'${a}'`).join(" ");
  const run = await execa("script", ["-qefc", command, "/dev/null"], { reject: false, cwd: ws.dir });
  return { exitCode: run.exitCode ?? -1, screen: run.stdout };
}

describe("progress on a terminal, nothing in a pipe", () => {
  const ws = new Workspace();
  beforeAll(() => {
    mkdirSync(ws.path("src"));
    writeFileSync(ws.path("src", "big.bin"), randomBytes(24 << 20));
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"], compression: "none" } });
  });
  afterAll(() => ws.remove());

  it("backup shows the phase, the artifact, its targets, bytes and rate, then the re-read; drill shows download and restore, without 'decrypting' for a plain backup", async () => {
    const backup = await onTerminal(ws, ["backup", "config"]);
    expect(backup.exitCode).toBe(0);
    expect(backup.screen).toMatch(/writing files\.tar -> local: \d+(\.\d)? (KiB|MiB) at \d+(\.\d)? (KiB|MiB|GiB)\/s/);
    expect(backup.screen).toContain("drctl: re-reading the copy on local against its sha256");
    const drill = await onTerminal(ws, ["drill", "config"]);
    expect(drill.exitCode).toBe(0);
    expect(drill.screen).toMatch(/download(\s\+ restore)? files\.tar \[/);
    expect(drill.screen).not.toContain("decrypt");

    // The same commands in a pipe: the result alone.
    const piped = await ws.drctl(["backup", "config"]);
    expect(piped.stderr).toBe("");
    const pipedDrill = await ws.drctl(["drill", "config"]);
    expect(pipedDrill.stderr).toBe("");
  });

  it("the daemon logs readable lines on a terminal and JSON lines elsewhere (journald)", async () => {
    const { execa } = await import("execa");
    const command = ["node", join(REPO, "bin/drctl.js"), "--config", ws.configPath, "daemon", "--allow-root"].map((a) => `'${a}'`).join(" ");
    // `timeout` ends the daemon with SIGTERM after 3 s: a graceful stop, logged too.
    const tty = await execa("script", ["-qefc", `timeout 3 ${command}`, "/dev/null"], { reject: false, cwd: ws.dir });
    const lines = tty.stdout.split(/\r?\n/).filter((l) => l);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] .*INFO.*: .*drd starting/);
    expect(lines.some((l) => l.startsWith("{"))).toBe(false);
    const piped = await execa("timeout", ["3", "node", join(REPO, "bin/drctl.js"), "--config", ws.configPath, "daemon", "--allow-root"], { reject: false, cwd: ws.dir });
    expect(JSON.parse(piped.stdout.split("\n")[0]!)).toMatchObject({ level: 30, msg: "drd starting", service: "drd" });
  });
});

describe("status of a job whose backups fail", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("says it is failing, since when, how many runs and why, and where every failure is", async () => {
    ws.withJobs({ db: { type: "postgres", connection: "postgresql://postgres@127.0.0.1:1/nowhere", schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    for (let i = 0; i < 2; i++) expect((await ws.drctl(["backup", "db"])).exitCode).toBe(1);
    const [status] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { failing: { since: string; runs: number; error: string } | null }[];
    expect(status!.failing).toMatchObject({ runs: 2, error: expect.stringContaining("cannot connect to postgresql://postgres@127.0.0.1:1/nowhere") });
    const text = (await ws.drctl(["status"])).stdout;
    expect(text).toMatch(/^ {2}FAILING since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ, 2 runs: cannot connect/m);
    expect(text).toContain("(drctl events --job db has every failure)");
  });
});

