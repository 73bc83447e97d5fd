import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, Workspace } from "../helpers/workspace.js";

/** The committed schema of a command's --json output (docs/json/), compiled. */
const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ReturnType<Ajv["compile"]>>();
function validator(command: string) {
  if (!compiled.has(command)) compiled.set(command, ajv.compile(JSON.parse(readFileSync(join(REPO, "docs/json", `${command}.schema.json`), "utf8"))));
  return compiled.get(command)!;
}

describe("every --json output matches its schema in docs/json", () => {
  const ws = new Workspace();
  beforeAll(async () => {
    mkdirSync(ws.path("src"));
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir }, offsite: { type: "local", path: ws.path("offsite"), media: "cloud", offsite: true } },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", rto: "1h", targets: ["local", "offsite"] } },
      alerts: [{ type: "command", name: "log", command: ["true"] }],
    });
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
  });
  afterAll(() => ws.remove());

  it.each<[string, string[]]>([
    ["backup", ["backup", "config"]],
    ["list", ["list"]],
    ["list", ["list", "--from", "offsite"]],
    ["status", ["status"]],
    ["verify", ["verify", "--job", "config"]],
    ["prune", ["prune", "--dry-run"]],
    ["replicate", ["replicate"]],
    ["events", ["events"]],
    ["drill", ["drill", "config"]],
    ["restore", ["restore", "config", "--to-dir", "RESTORE_DIR"]],
    ["restore", ["restore", "config", "--to-dir", "RESTORE_DIR", "--dry-run"]],
    ["config-check", ["config", "check"]],
    ["audit-verify", ["audit", "verify"]],
    ["alerts-test", ["alerts", "test"]],
    ["report", ["report", "--window", "1d"]],
    ["error", ["backup", "nope"]],
    ["error", ["list", "--frobnicate"]],
  ])("%s: drctl %j", async (command, args) => {
    const run = await ws.drctl([...args.map((a) => (a === "RESTORE_DIR" ? ws.path(`restored-${Math.random().toString(36).slice(2)}`) : a)), "--json"]);
    const output = JSON.parse(run.stdout);
    const validate = validator(command);
    expect(validate(output) ? [] : validate.errors).toEqual([]);
  });

  it("init: drctl init --json", async () => {
    const run = await ws.drctl(["init", "--dir", ws.path("init"), "--state-dir", ws.path("init-state"), "--backup-dir", ws.path("init-backups"), "--json"]);
    expect(run.exitCode).toBe(0);
    const validate = validator("init");
    expect(validate(JSON.parse(run.stdout)) ? [] : validate.errors).toEqual([]);
  });

  it("the committed schemas are the ones the output types generate (npm run gen:schema)", async () => {
    const { jsonOutputSchemas } = (await import(join(REPO, "scripts/json-output-schemas.mjs"))) as { jsonOutputSchemas: () => Record<string, string> };
    for (const [command, text] of Object.entries(jsonOutputSchemas())) expect(readFileSync(join(REPO, "docs/json", `${command}.schema.json`), "utf8"), command).toBe(text);
  });
});
