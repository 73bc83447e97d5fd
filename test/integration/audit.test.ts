import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
    expect(chain.stdout).toBe(`${trail()}: 7 line(s), the chain is whole`);
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
