import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/workspace.js";

/** The alert rules an operator copies: valid, and firing when (and only when) the test series say (promtool, Debian's prometheus package). */
describe("config/prometheus/drd.rules.yml", () => {
  it("promtool checks the rules and passes their unit tests", async () => {
    const check = await execa("promtool", ["check", "rules", "config/prometheus/drd.rules.yml"], { cwd: REPO, reject: false });
    expect(check.stdout).toMatch(/SUCCESS: 5 rules found/);
    expect(check.exitCode).toBe(0);
    const test = await execa("promtool", ["test", "rules", "config/prometheus/drd.rules.test.yml"], { cwd: REPO, reject: false });
    expect(test.stdout + test.stderr).toMatch(/SUCCESS/);
    expect(test.exitCode).toBe(0);
  });

  it("names only metrics the daemon serves", async () => {
    const rules = (await import("node:fs")).readFileSync(`${REPO}/config/prometheus/drd.rules.yml`, "utf8");
    const served = (await import("node:fs")).readFileSync(`${REPO}/src/daemon/metrics-server.ts`, "utf8");
    const used = [...new Set(rules.match(/drd_[a-z_]+/g) ?? [])];
    expect(used.length).toBeGreaterThan(3);
    for (const name of used) expect(served, name).toContain(`"${name}"`);
  });
});
