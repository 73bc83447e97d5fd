import { createHash } from "node:crypto";
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flipByte } from "../helpers/files.js";
import { problems, Workspace } from "../helpers/workspace.js";

const SECRETS = ["PLANTED-PASSPHRASE-7f3a", "PLANTED-WEBHOOK-SECRET-91c2", "PLANTED-SMTP-PASSWORD-44d1"];

/** The audit trail: who restored, drilled, deleted what; a hash chain that an edit or a removed line breaks. */
describe("the audit trail", () => {
  const ws = new Workspace();
  const trail = () => join(ws.stateDir, "audit.jsonl");
  const lines = () => readFileSync(trail(), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const ids: string[] = [];

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    writeFileSync(ws.path("pass"), `${SECRETS[0]}\n`, { mode: 0o600 });
    writeFileSync(ws.path("hook.secret"), `${SECRETS[1]}\n`, { mode: 0o600 });
    writeFileSync(ws.path("smtp.pass"), `${SECRETS[2]}\n`, { mode: 0o600 });
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir, retention: { keep_last: 1 } } },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs: { config: { type: "files", paths: [ws.path("src")], encrypt: { passphrase_file: ws.path("pass") }, schedule: "0 * * * *", rpo: "1h", targets: ["local"], drill: { passphrase_file: ws.path("pass") } } },
      // Channels that hold secrets, none reachable: their failures must not leak them either.
      alerts: [
        { type: "webhook", url: "http://127.0.0.1:9/hook", secret_file: ws.path("hook.secret"), timeout: "1s" },
        { type: "email", smtp: { host: "127.0.0.1", port: 9, user: "drd", password_file: ws.path("smtp.pass") }, to: ["ops@test.invalid"], timeout: "1s" },
      ],
    });
    for (let i = 0; i < 2; i++) ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
  });
  afterAll(() => ws.remove());

  it("records a restore (and the key used), a drill, a prune deletion and a verify failure, with the actor", async () => {
    const to = ws.path("restored");
    expect((await ws.drctl(["restore", "config", "--backup", ids[1]!, "--to-dir", to, "--passphrase-file", ws.path("pass")])).exitCode).toBe(0);
    expect((await ws.drctl(["drill", "config"])).exitCode).toBe(0);
    const pruned = await ws.drctl(["prune", "--json"]);
    expect(JSON.parse(pruned.stdout).removed).toBe(1);
    flipByte(join(ws.backupDir, "config", ids[1]!, "files.tar.zst.gpg"), 50);
    expect((await ws.drctl(["verify", "--job", "config"])).exitCode).toBe(3);

    const events = lines().map((l) => [l.event, l.outcome]);
    expect(events).toEqual([
      ["key_use", "ok"],
      ["restore", "ok"],
      // The drill's own restore, into its scratch directory, is a restore with a key too.
      ["key_use", "ok"],
      ["restore", "ok"],
      ["drill", "ok"],
      ["prune_delete", "ok"],
      ["verify_failed", "failed"],
    ]);
    const [keyUse, restore, , drillRestore, , prune, verify] = lines();
    expect(drillRestore.detail.directory).toMatch(new RegExp(`^${ws.stateDir}/drill-config-`));
    expect(keyUse.detail).toEqual({ passphrase_file: ws.path("pass") });
    expect(restore).toMatchObject({ job: "config", backup_id: ids[1], target: "local", detail: { directory: to } });
    expect(restore.actor).toEqual({ uid: process.getuid!(), user: "root", sudo_user: process.env.SUDO_USER ?? null, via: "command" });
    expect(prune).toMatchObject({ target: "local", detail: { backup_ids: [ids[0]] } });
    expect(verify).toMatchObject({ backup_id: ids[1], target: "local", detail: { state: "corrupt" } });
    expect(statSync(trail()).mode & 0o777).toBe(0o600);

    const chain = await ws.drctl(["audit", "verify"]);
    expect(chain.stdout).toBe(`${trail()}: 7 line(s), the chain is whole; it reaches what the catalog recorded`);
    expect(chain.exitCode).toBe(0);
  });

  it("holds no secret, whatever the config's secret files hold", () => {
    const text = readFileSync(trail(), "utf8") + (existsSync(join(ws.stateDir, "catalog.sqlite")) ? readFileSync(join(ws.stateDir, "catalog.sqlite")).toString("latin1") : "");
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it("an edited line, a removed line and a removed first line each break the chain at that line: exit 3", async () => {
    const original = readFileSync(trail(), "utf8");
    const rows = original.trim().split("\n");
    const cases: [string, string[], RegExp][] = [
      ["edited", rows.map((r, i) => (i === 1 ? r.replace('"outcome":"ok"', '"outcome":"failed"') : r)), /breaks at line 3: it does not carry the sha256 of the line before it/],
      ["removed", rows.filter((_, i) => i !== 2), /breaks at line 3: it does not carry the sha256 of the line before it/],
      ["first removed", rows.slice(1), /breaks at line 1: the first line does not start the chain/],
    ];
    try {
      for (const [, changed, message] of cases) {
        writeFileSync(trail(), `${changed.join("\n")}\n`);
        const run = await ws.drctl(["audit", "verify"]);
        expect(problems(run.stderr)).toMatch(message);
        expect(run.exitCode).toBe(3);
      }
    } finally {
      writeFileSync(trail(), original);
    }
  });
});

describe("an audit trail that notices its tail", () => {
  const ws = new Workspace();
  const trail = () => join(ws.stateDir, "audit.jsonl");
  let original = "";

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    for (let i = 0; i < 3; i++) expect((await ws.drctl(["restore", "config", "--to-dir", ws.path(`out-${i}`)])).exitCode).toBe(0);
    // This backup's signed manifest carries the trail's head: an anchor on the target too.
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    original = readFileSync(trail(), "utf8");
  });
  afterAll(() => ws.remove());

  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  /** The trail with its second line changed and every hash after it recomputed: a chain that holds on its own. */
  function rewritten(text: string): string {
    const rows = text.trim().split("\n").map((l) => JSON.parse(l));
    rows[1].outcome = "failed";
    let prev = "0".repeat(64);
    const out: string[] = [];
    for (const row of rows) {
      const line = JSON.stringify({ ...row, prev });
      out.push(line);
      prev = sha(line);
    }
    return `${out.join("\n")}\n`;
  }

  it.each([
    ["the last line removed", (t: string) => `${t.trim().split("\n").slice(0, -1).join("\n")}\n`, /breaks at line 3: the trail has 2 line\(s\), but the catalog recorded 3: lines were removed from its end/],
    ["only the first line kept", (t: string) => `${t.split("\n")[0]}\n`, /the trail has 1 line\(s\), but the catalog recorded 3/],
    ["emptied", () => "", /the trail has 0 line\(s\), but the catalog recorded 3/],
    ["deleted", () => undefined, /breaks at line 1: the trail is missing, but the catalog recorded 3 line\(s\)/],
    ["rewritten with recomputed hashes", rewritten, /breaks at line 3: line 3 is not the one the catalog recorded \(sha256 [0-9a-f]{64}\): the trail was rewritten/],
  ])("%s: audit verify exits 3 naming what it compared", async (_name, change, message) => {
    try {
      const next = change(original);
      if (next === undefined) rmSync(trail());
      else writeFileSync(trail(), next);
      const run = await ws.drctl(["audit", "verify"]);
      expect(problems(run.stderr)).toMatch(message);
      expect(run.exitCode).toBe(3);
    } finally {
      writeFileSync(trail(), original, { mode: 0o600 });
    }
    const whole = await ws.drctl(["audit", "verify"]);
    expect(whole.stdout).toMatch(/3 line\(s\), the chain is whole; it reaches what the catalog, the manifest of backup config-\S+ recorded$/);
    expect(whole.exitCode).toBe(0);
  });

  it("with the catalog lost, the signed manifests on the target still hold the anchor (--from)", async () => {
    const catalog = join(ws.stateDir, "catalog.sqlite");
    const saved = readFileSync(catalog);
    try {
      rmSync(catalog);
      writeFileSync(trail(), `${original.split("\n")[0]}\n`);
      expect((await ws.drctl(["audit", "verify"])).exitCode).toBe(0);
      const run = await ws.drctl(["audit", "verify", "--from", "local"]);
      expect(problems(run.stderr)).toMatch(/the trail has 1 line\(s\), but the signed manifest of backup config-\S+ on local recorded 3/);
      expect(run.exitCode).toBe(3);
    } finally {
      writeFileSync(catalog, saved);
      writeFileSync(trail(), original, { mode: 0o600 });
    }
  });

  it("a fresh install with no trail and no anchor is whole (exit 0)", async () => {
    const fresh = new Workspace();
    try {
      fresh.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
      const run = await fresh.drctl(["audit", "verify"]);
      expect(run.stdout).toBe(`${join(fresh.stateDir, "audit.jsonl")}: 0 line(s), the chain is whole`);
      expect(run.exitCode).toBe(0);
    } finally {
      fresh.remove();
    }
  });

  it("an unwritable trail: config check finds it (and the unit's sandbox); a restore keeps its data and says the trail missed it", async () => {
    const ro = ws.path("ro");
    mkdirSync(ro, { recursive: true });
    execSync(`mount -t tmpfs -o ro,size=1m tmpfs ${ro}`);
    try {
      const config = ws.path("ro.yaml");
      writeFileSync(config, readFileSync(ws.configPath, "utf8") + `audit:\n  path: ${join(ro, "audit.jsonl")}\n`);
      const check = await ws.drctl(["config", "check", "--config", config]);
      expect(check.stdout + check.stderr).toContain(`audit.path: cannot write in ${ro}: EROFS`);
      expect(check.exitCode).toBe(2);
      const restore = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-ro")], { config });
      expect(restore.exitCode).toBe(0);
      expect(problems(restore.stderr)).toMatch(new RegExp(`warning: the restore into ${ws.path("out-ro")} succeeded and its data is there, but the audit trail could not record it: EROFS`));
      expect(readFileSync(ws.path("out-ro", "src", "app.conf"), "utf8")).toBe("x = 1\n");

      // The service may write only what its unit allows: a state_dir elsewhere is found before the service meets it.
      const unit = ws.path("drd.service");
      writeFileSync(unit, `[Service]\nUser=root\nStateDirectory=drd\nReadWritePaths=${ws.backupDir}\nProtectSystem=strict\n`);
      const sandboxed = await ws.drctl(["config", "check"], { env: { DRD_UNIT_FILE: unit } });
      expect(sandboxed.stdout + sandboxed.stderr).toContain(`state_dir: ${ws.stateDir} lies outside what ${unit} lets drd write (/var/lib/drd, ${ws.backupDir}): under the service it cannot be written; add it to ReadWritePaths`);
      expect(sandboxed.exitCode).toBe(2);
    } finally {
      execSync(`umount ${ro}`);
    }
  });
});
