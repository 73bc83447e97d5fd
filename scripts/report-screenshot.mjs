// Regenerates docs/report.png, the README's picture of `drctl report`: runs the demo (quick
// pace) through its RPO breach and recovery, lets it drill a while longer, writes the report
// of its last minutes and has Debian's Chromium (headless) take a 1280-pixel-wide picture of it.
//   npm run build && node scripts/report-screenshot.mjs [out.png]
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { launchChromium } from "./chromium.mjs";

const repo = new URL("..", import.meta.url).pathname;
const out = process.argv[2] ?? join(repo, "docs", "report.png");
const AFTER_RECOVERY_MS = 40_000;
const DEMO_MS = 8 * 60_000;

const demo = spawn("node", [join(repo, "dist/demo/main.js")], { env: { ...process.env, DRD_DEMO_PACE: "quick" }, stdio: ["ignore", "pipe", "inherit"] });
let output = "";
demo.stdout.on("data", (d) => {
  output += d;
  process.stdout.write(d);
});
const stopDemo = () => new Promise((resolve) => {
  if (demo.exitCode !== null) return resolve();
  demo.once("exit", resolve);
  demo.kill("SIGINT");
});

try {
  const deadline = Date.now() + DEMO_MS;
  while (!output.includes("demo shown:")) {
    if (Date.now() > deadline || demo.exitCode !== null) throw new Error("the demo did not show its breach and recovery; see its output above");
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, AFTER_RECOVERY_MS));
  const root = /setting up in (\S+):/.exec(output)[1];
  // The demo's drctl runs as the daemon's user: it writes the report where that user may.
  const dir = mkdtempSync(join(tmpdir(), "drd-report-"));
  chmodSync(dir, 0o777);
  const html = join(dir, "report.html");
  execFileSync(join(root, "drctl"), ["report", "--window", "10m", "--html", html], { stdio: "inherit" });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`file://${html}`);
  // The top of the page: the summary, the audit trail and the first job's age chart with its breach.
  const breaches = await page.locator("section.job").first().locator("table").first().boundingBox();
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(breaches.y + breaches.height + 24) } });
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`report-screenshot: wrote ${out}`);
} finally {
  await stopDemo();
}
