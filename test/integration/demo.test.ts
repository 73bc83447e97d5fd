import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/workspace.js";

/**
 * `npm start` with no config: the demo, at the quick pace (the same story as a person sees,
 * with schedules of seconds). Run as a terminal does it: its own process group, Ctrl-C to
 * the group.
 */
describe("npm start without a config: the demo", () => {
  let output = "";
  const demo = spawn("npm", ["start"], {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DRD_CONFIG: "/nonexistent/drd.yaml", DRD_DEMO_PACE: "quick" },
  });
  demo.stdout.on("data", (c: Buffer) => (output += c.toString()));
  demo.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => demo.on("exit", (code) => resolve(code)));
  afterAll(async () => {
    try {
      process.kill(-demo.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  });

  const waitForOutput = async (text: string, ms: number) => {
    const deadline = Date.now() + ms;
    while (!output.includes(text)) {
      if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`no "${text}" in the demo's output:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const root = () => /setting up in (\S+):/.exec(output)![1]!;

  it("says what set-up does, then shows every job backed up to both targets with a passing drill", async () => {
    await waitForOutput("every job is backed up to both targets", 120_000);
    expect(output).toMatch(/setup: ready in \d+ s/);
    expect(output).toContain("drd: no config at /nonexistent/drd.yaml; starting the demo");
  }, 130_000);

  it("shows an RPO breach and its recovery, each alert received and printed", async () => {
    await waitForOutput("demo shown:", 120_000);
    // What to try comes once the outage is over: every command of it works then.
    expect(output).toContain(`export PATH=${root()}:$PATH`);
    expect(output.indexOf("Try, in another terminal")).toBeGreaterThan(output.indexOf("rpo_recovered (database)"));
    const alerts = output.split("\n").filter((l) => l.includes("ALERT received"));
    expect(alerts.find((l) => l.includes("rpo_breach (database)"))).toBeDefined();
    expect(alerts.find((l) => l.includes("rpo_recovered (database)"))).toBeDefined();
    expect(output.indexOf("rpo_breach (database)")).toBeLessThan(output.indexOf("rpo_recovered (database)"));
    // No drill ran before there was a backup to restore.
    expect(alerts.filter((l) => l.includes("rto_breach") || l.includes("drill_failed"))).toEqual([]);
  }, 130_000);

  it("drctl status --json, as the operator runs it: every job within its RPO, both copies verified, a drill passed with its RTO", async () => {
    const r = await execa(`${root()}/drctl`, ["status", "--json"], { reject: false });
    expect(r.stderr).toBe("");
    const jobs = JSON.parse(r.stdout) as { job: string; rpo_state: string; policy_ok: boolean; copies: { target: string; state: string }[]; last_drill: { ok: boolean } | null; measured_rto_seconds: number | null; rto_state: string }[];
    expect(jobs.map((j) => j.job)).toEqual(["database", "config", "certificates", "cluster"]);
    for (const j of jobs) {
      expect(j, j.job).toMatchObject({ rpo_state: "ok", policy_ok: true, rto_state: "ok", last_drill: { ok: true } });
      expect(j.copies.map((c) => `${c.target} ${c.state}`)).toEqual(["local verified", "offsite verified"]);
      expect(j.measured_rto_seconds).toEqual(expect.any(Number));
    }
    // The metrics page it printed answers, with every job's policy met.
    const metrics = await (await fetch(/metrics: curl -s (\S+)/.exec(output)![1]!)).text();
    for (const job of ["database", "config", "certificates", "cluster"]) expect(metrics).toContain(`drd_job_policy_ok{backup_job="${job}"} 1`);
    // events --json names what happened `event`, as alerts do; `kind` is its old name, kept for a release.
    const events = JSON.parse((await execa(`${root()}/drctl`, ["events", "--json", "--limit", "1000"])).stdout) as { event: string; kind: string; job: string | null }[];
    expect(events.filter((e) => e.job === "database").map((e) => e.event)).toEqual(expect.arrayContaining(["backup_failed", "alert_rpo_breach", "alert_rpo_recovered"]));
    expect(events.filter((e) => e.kind !== e.event)).toEqual([]);
  }, 60_000);

  it("the README's runnable block runs against the demo, line by line, and is what the demo prints", async () => {
    const readme = readFileSync(`${REPO}/README.md`, "utf8");
    const block = /<!-- runnable: demo[^\n]*-->\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    expect(lines[0]).toBe("export PATH=/tmp/drd-demo-XXXXXX:$PATH");
    rmSync("/tmp/restored-config", { recursive: true, force: true });
    try {
      for (const line of lines.slice(1)) {
        expect(output, "the demo prints the README's commands").toContain(line);
        const run = await execa("bash", ["-c", line], { reject: false, env: { ...process.env, PATH: `${root()}:${process.env.PATH}` } });
        expect([line, run.exitCode, run.exitCode === 0 ? "" : run.stderr]).toEqual([line, 0, ""]);
      }
      expect(readFileSync("/tmp/restored-config/app-config/app.yaml", "utf8")).toContain("workers: 4");
      const copy = /PostgreSQL: (\S+)\/shop;/.exec(output)![1]!;
      expect((await execa("psql", ["-XAtq", "-d", `${copy}/shop_copy`, "-c", "select count(*) from customers"])).stdout).toBe("1000");
    } finally {
      rmSync("/tmp/restored-config", { recursive: true, force: true });
    }
  }, 120_000);

  it("Ctrl-C stops everything it started and removes what it made", async () => {
    const dir = root();
    const config = readFileSync(`${dir}/drd/drd.yaml`, "utf8");
    expect(config).toContain("type: s3");
    // A terminal's Ctrl-C: SIGINT to every process of the group (npm, the demo, the daemon, PostgreSQL).
    process.kill(-demo.pid!, "SIGINT");
    await exited;
    const deadline = Date.now() + 60_000;
    const running = async () => (await execa("pgrep", ["-af", dir], { reject: false })).stdout;
    while ((existsSync(dir) || (await running()) !== "") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(output).toContain(`SIGINT: stopping the daemon, PostgreSQL and the S3 server, removing ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(await running()).toBe("");
  }, 70_000);
});

describe("a demo killed outright", () => {
  it("leaves its daemon, PostgreSQL and directory to the next demo, which stops and removes them", async () => {
    const { demo, root } = await demoUntil("the daemon runs");
    demo.kill("SIGKILL");
    await new Promise((r) => demo.once("exit", r));
    const running = async () => (await execa("pgrep", ["-f", root], { reject: false })).stdout;
    expect(await running()).not.toBe(""); // the daemon and PostgreSQL outlived it
    const { removeAbandoned } = await import("../../src/demo/demo.js");
    expect(await removeAbandoned()).toContain(root);
    for (let i = 0; i < 50 && (await running()) !== ""; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await running()).toBe("");
    expect(existsSync(root)).toBe(false);
  }, 90_000);
});

describe("Ctrl-C while the demo is still setting up", () => {
  it("waits for what is starting, then stops and removes it all", async () => {
    const { demo, root } = await demoUntil("setting up in");
    demo.kill("SIGINT");
    const code = await new Promise((r) => demo.once("exit", r));
    expect(code).toBe(130);
    expect(existsSync(root)).toBe(false);
    expect((await execa("pgrep", ["-f", root], { reject: false })).stdout).toBe("");
  }, 60_000);
});

/** The demo's program at the quick pace, once its output says `text`, with the directory it made. */
async function demoUntil(text: string) {
  const demo = spawn("node", [`${REPO}/dist/demo/main.js`], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, DRD_DEMO_PACE: "quick" } });
  let output = "";
  demo.stdout.on("data", (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { demo, root: /setting up in (\S+):/.exec(output)![1]! };
}
