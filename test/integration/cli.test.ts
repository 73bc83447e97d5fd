import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Workspace } from "../helpers/workspace.js";

describe("drctl usage and config errors", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("config check prints every problem with its path, exit 2, no stack trace", async () => {
    writeFileSync(
      ws.configPath,
      [
        "targets:",
        "  local: { type: local, path: /tmp/x }",
        "jobs:",
        "  database:",
        "    type: postgres",
        "    connection: postgresql://drd@localhost/app",
        '    schedule: "*/61 * * * *"',
        "    rpo: 15x",
        "    targets: [local]",
        "    encrypt: { recipients: [/nonexistent/key.asc] }",
      ].join("\n"),
    );
    const run = await ws.drctl(["config", "check"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.split("\n")).toEqual([
      'jobs.database.schedule: invalid cron expression "*/61 * * * *": step 61 is out of range for the minute field (0-59)',
      'jobs.database.rpo: invalid duration "15x" (write e.g. 90s, 15m, 1h, 30d)',
    ]);
  });

  it("config check names unreadable key files once the schema is valid", async () => {
    ws.withJobs({
      certs: { type: "files", paths: ["/etc"], schedule: "0 * * * *", rpo: "1h", targets: ["local"], encrypt: { recipients: ["/nonexistent/key.asc"] } },
    });
    const run = await ws.drctl(["config", "check", "--json"]);
    expect(run.exitCode).toBe(2);
    expect(JSON.parse(run.stdout).problems).toEqual([{ path: "jobs.certs.encrypt.recipients[0]", message: "cannot read /nonexistent/key.asc: ENOENT" }]);
  });

  it("any command with an invalid config exits 2 with the problem", async () => {
    writeFileSync(ws.configPath, "targets: {}\njobs: {}\nbogus: 1\n");
    const run = await ws.drctl(["list"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe("drctl: 2 problems in the config:\ntargets: at least one target is required\nbogus: unknown key");
  });

  it("a missing config file exits 2 naming it", async () => {
    const run = await ws.drctl(["--config", "/nonexistent/drd.yaml", "list"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      "drctl: /nonexistent/drd.yaml: cannot read the config: ENOENT (give one with --config FILE or DRD_CONFIG; start from config/drd.example.yaml, or write one with `drctl init`)",
    );
  });

  it("an unknown job, unknown command or missing argument exits 2", async () => {
    ws.withJobs({ config: { type: "files", paths: ["/etc/hostname"], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    const unknownJob = await ws.drctl(["backup", "nope"]);
    expect(unknownJob.exitCode).toBe(2);
    expect(unknownJob.stderr).toBe('drctl: unknown job "nope" (jobs: config)');
    expect((await ws.drctl(["frobnicate"])).exitCode).toBe(2);
    expect((await ws.drctl(["backup"])).exitCode).toBe(2);
  });

  it("under --json an error is JSON on stdout too: the message and the exit code (and a config's problems)", async () => {
    ws.withJobs({ config: { type: "files", paths: ["/etc/hostname"], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    const unknown = await ws.drctl(["backup", "nope", "--json"]);
    expect([unknown.exitCode, unknown.stderr]).toEqual([2, ""]);
    expect(JSON.parse(unknown.stdout)).toEqual({ error: 'unknown job "nope" (jobs: config)', exit_code: 2 });
    const usage = await ws.drctl(["list", "--json", "--frobnicate"]);
    expect([usage.exitCode, usage.stderr]).toEqual([2, ""]);
    expect(JSON.parse(usage.stdout)).toEqual({ error: "unknown option '--frobnicate'", exit_code: 2 });
    writeFileSync(ws.configPath, "targets: {}\njobs: {}\n");
    const invalid = await ws.drctl(["status", "--json"]);
    expect(invalid.exitCode).toBe(2);
    expect(JSON.parse(invalid.stdout)).toEqual({ error: "targets: at least one target is required", exit_code: 2, problems: ["targets: at least one target is required"] });
  });
});
