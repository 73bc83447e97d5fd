import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../scripts/chromium.mjs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { when } from "../../src/report/text.js";
import type { ReportOutput } from "../../src/cli/json-output.js";
import { writeLocalAndS3Config } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `drctl report`: a files job backed up to local and S3 goes through an RPO breach and its
 * recovery, a passing and a failing drill, and a prune; the HTML report, rendered by a real
 * Chromium, says each of those as the catalog has them, in one self-contained page.
 */
describe("drctl report: the evidence report, rendered in headless Chromium", () => {
  const ws = new Workspace();
  const source = ws.path("etc", "app");
  let browser: Browser;
  let report: ReportOutput;
  const html = ws.path("report.html");
  let config: { jobs: Record<string, Record<string, unknown>>; targets: Record<string, Record<string, unknown>> };

  const drctl = async (args: string[]) => {
    const r = await ws.drctl(args);
    expect([args.join(" "), r.exitCode, r.stderr]).toEqual([args.join(" "), 0, ""]);
    return r.stdout;
  };

  beforeAll(async () => {
    mkdirSync(source, { recursive: true });
    writeFileSync(ws.path("etc", "app", "app.conf"), "listen 8080\n");
    await writeLocalAndS3Config(ws, inject("s3Port"), "report", {
      config: { type: "files", paths: [source], schedule: "0 * * * *", rpo: "3s", rto: "1m", targets: ["local", "offsite"], drill: { checks: [{ command: ["true"] }] } },
    });
    config = parse(readFileSync(ws.configPath, "utf8"));
    config.targets.local!.retention = { keep_last: 2 };
    writeFileSync(ws.configPath, stringify(config));
    browser = await launchChromium();

    await drctl(["backup", "config"]);
    await sleep(4_500);
    // Any command that changes the objectives evaluates them: the backup is 4.5 s old, over the 3 s RPO.
    await drctl(["verify"]);
    await drctl(["backup", "config"]);
    await drctl(["drill", "config"]);
    config.jobs.config!.drill = { checks: [{ command: ["false"] }] };
    writeFileSync(ws.configPath, stringify(config));
    expect((await ws.drctl(["drill", "config"])).exitCode).toBe(3);
    await drctl(["backup", "config"]);
    await drctl(["prune"]);
    await drctl(["report", "--window", "1h", "--html", html]);
    report = JSON.parse(await drctl(["report", "--window", "1h", "--json"])) as ReportOutput;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    ws.remove();
  });

  it("the JSON report holds the breach and its recovery, both drills, every backup's copies and the prune with its reason", () => {
    const [job] = report.jobs;
    expect(report.audit).toMatchObject({ ok: true, problem: null });
    expect(job!.rpo.breaches).toHaveLength(1);
    const breach = job!.rpo.breaches[0]!;
    expect(breach.open).toBe(false);
    expect(breach.duration_seconds).toBeGreaterThan(0);
    expect(breach.worst_age_seconds!).toBeGreaterThan(3);
    expect(job!.rpo.share_ok!).toBeGreaterThan(0);
    expect(job!.rpo.share_ok!).toBeLessThan(1);
    expect(job!.drills.map((d) => d.ok)).toEqual([true, false]);
    expect(job!.rto.state).toBe("breach");
    // Three backups made, keep_last 2 on local: the oldest left local, and stays on S3.
    expect(job!.backups).toHaveLength(3);
    expect(job!.pruned).toHaveLength(1);
    expect(job!.pruned[0]).toMatchObject({ backup_id: job!.backups[2]!.id, target: "local" });
    expect(job!.pruned[0]!.reasons).not.toBe("");
    expect(job!.backups[2]!.copies.map((c) => `${c.target} ${c.state}`)).toEqual(["local deleted", "offsite verified"]);
    expect(job!.backups.every((b) => b.signature === "signed")).toBe(true);
  });

  it("the page shows what the catalog holds, fetches nothing, fits 1280 pixels, prints, and is screenshot", async () => {
    expect(statSync(html).mode & 0o777).toBe(0o600);
    const text = readFileSync(html, "utf8");
    expect(text).not.toMatch(/<script|<link|<img|@import|url\(|src=|href="http/i);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`file://${html}`);
    expect(requests).toEqual([`file://${html}`]);

    const [job] = report.jobs;
    const shown = await page.innerText("body");
    const list = JSON.parse(await drctl(["list", "config", "--json"])) as { id: string }[];
    for (const b of list) expect(shown).toContain(b.id);
    expect(shown).toContain(when(job!.rpo.breaches[0]!.from));
    expect(shown).toContain(when(job!.rpo.breaches[0]!.to));
    expect(shown).toContain("FAILED");
    expect(shown).toContain(job!.pruned[0]!.reasons);
    expect(shown).toMatch(/intact: \d+ line\(s\)/);
    expect(await page.locator("svg").count()).toBe(2);

    const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scroll).toBeLessThanOrEqual(1280);
    const png = await page.screenshot({ fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.length).toBeGreaterThan(20_000);
    const pdf = await page.pdf({ format: "A4" });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    await page.close();
  });

  it("--json and --html are asked for: neither is a usage error (exit 2), a window past the kept history too", async () => {
    const none = await ws.drctl(["report"]);
    expect([none.exitCode, none.stderr.trim()]).toEqual([2, "drctl: say where the report goes: --html FILE, --json, or both"]);
    const long = await ws.drctl(["report", "--window", "400d", "--json"]);
    expect(long.exitCode).toBe(2);
    expect(long.stdout).toContain("at most 100d");
  });
});
