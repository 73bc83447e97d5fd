// Benchmark of the objectives side, with a named baseline in the same run:
//  1. `drctl status --json` over a catalog of 100,000 backups (3 jobs), beside `drctl
//     --version` (Node's start-up and drctl's CLI alone): the command's wall time, and the
//     status computation alone inside one process (target: under 300 ms).
//  2. An idle daemon with 3 jobs for N minutes (default 5): its RSS and CPU share
//     (targets: under 100 MiB, under 1% of a core), and the time of a scrape of its
//     Prometheus metrics over the same catalog (target: under 100 ms).
// Usage: npm run bench:status [-- minutes]
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Catalog } from "../dist/catalog/catalog.js";
import { contextFor } from "../dist/app/context.js";
import { loadConfig } from "../dist/config/load.js";
import { jobStatuses } from "../dist/app/status.js";

const run = promisify(execFile);
const repo = new URL("..", import.meta.url).pathname;
const minutes = Number(process.argv[2] ?? 5);
const work = mkdtempSync(join(tmpdir(), "drd-bench-status-"));
const drctl = join(repo, "bin/drctl.js");
const JOBS = ["database", "config", "certificates"];

async function timed(args) {
  const t = process.hrtime.bigint();
  const { stdout } = await run(process.execPath, [drctl, ...args], { maxBuffer: 64 << 20 });
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  mkdirSync(join(work, "src"));
  const stateDir = join(work, "state");
  const config = join(work, "drd.yaml");
  const metricsPort = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(config, JSON.stringify({
    state_dir: stateDir,
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    targets: { local: { type: "local", path: join(work, "backups") }, offsite: { type: "local", path: join(work, "offsite"), media: "cloud", offsite: true } },
    policy: { copies: 2, media: 2, offsite: 1 },
    jobs: Object.fromEntries(JOBS.map((j) => [j, { type: "files", paths: [join(work, "src")], schedule: "0 3 * * *", rpo: "1d", rto: "1h", targets: ["local", "offsite"], drill: { schedule: "0 4 * * 0" } }])),
  }));
  // 100,000 backups over the 3 jobs, newest now, every copy verified: an idle daemon has nothing to do.
  const catalog = Catalog.open(stateDir);
  const now = Date.now();
  catalog.db.transaction(() => {
    const b = catalog.db.prepare(`INSERT INTO backups (id, job, kind, snapshot_at, finished_at, size, sha256, manifest) VALUES (?, ?, 'files', ?, ?, 1, 'x', '{"artifacts":[]}')`);
    const c = catalog.db.prepare(`INSERT INTO copies (backup_id, target, location, state, written_at, verified_at) VALUES (?, ?, 'x', ?, ?, ?)`);
    const d = catalog.db.prepare(`INSERT INTO drills (job, started_at, finished_at, ok, phases, target) VALUES (?, ?, ?, 1, '{"rto_proven":true}', 'offsite')`);
    for (let i = 0; i < 100_000; i++) {
      const job = JOBS[i % 3];
      const at = now - Math.floor(i / 3) * 900_000;
      b.run(`${job}-${i}`, job, at, at);
      c.run(`${job}-${i}`, "local", "verified", at, at);
      c.run(`${job}-${i}`, "offsite", "verified", at, at);
    }
    for (let i = 0; i < 300; i++) d.run(JOBS[i % 3], now - i * 86_400_000, now - i * 86_400_000 + 60_000);
  })();
  catalog.close();

  // 1. status, 5 runs each, alternating with the baseline.
  const status = [];
  const baseline = [];
  for (let i = 0; i < 5; i++) {
    baseline.push((await timed(["--version"])).ms);
    status.push((await timed(["--config", config, "status", "--json"])).ms);
  }
  const ctx = contextFor(loadConfig(config));
  const inside = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    jobStatuses(ctx, { windowMs: 30 * 86_400_000 });
    inside.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ctx.catalog.close();

  // 2. The idle daemon. The backups above are recent, so nothing is caught up: it only waits and evaluates.
  const daemon = spawn(process.execPath, [drctl, "--config", config, "--allow-root", "daemon"], { stdio: ["ignore", "ignore", "inherit"] });
  await new Promise((r) => setTimeout(r, 5_000));
  const cpu = () => {
    const f = readFileSync(`/proc/${daemon.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  };
  const mem = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${daemon.pid}/status`, "utf8"))[1]) / 1024;
  // Scrapes, as Prometheus makes them: one at a time, five of them.
  const scrapes = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    await res.text();
    scrapes.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const cpu0 = cpu();
  const rssSamples = [];
  const end = Date.now() + minutes * 60_000;
  while (Date.now() < end) {
    rssSamples.push(mem("VmRSS"));
    await new Promise((r) => setTimeout(r, 10_000));
  }
  const cpuShare = (cpu() - cpu0) / (minutes * 60);
  const peak = mem("VmHWM");
  daemon.kill("SIGTERM");
  await new Promise((r) => daemon.once("exit", r));

  console.log("catalog: 100,000 backups over 3 jobs (local + offsite copies, all verified), 300 drills\n");
  console.log("| run | best ms | median ms |");
  console.log("|---|---:|---:|");
  console.log(`| drctl --version (baseline: Node start-up and the CLI) | ${Math.min(...baseline).toFixed(0)} | ${median(baseline).toFixed(0)} |`);
  console.log(`| drctl status --json | ${Math.min(...status).toFixed(0)} | ${median(status).toFixed(0)} |`);
  console.log(`| the status computation alone, in one process | ${Math.min(...inside).toFixed(1)} | ${median(inside).toFixed(1)} |`);
  console.log(`| GET /metrics from the daemon (a scrape) | ${Math.min(...scrapes).toFixed(1)} | ${median(scrapes).toFixed(1)} |`);
  console.log(`\nidle daemon, 3 jobs, ${minutes} min: RSS ${Math.min(...rssSamples).toFixed(0)}-${Math.max(...rssSamples).toFixed(0)} MiB (peak ${peak.toFixed(0)} MiB), CPU ${(cpuShare * 100).toFixed(2)}% of a core`);
  console.log(`targets: status under 300 ms: command ${median(status).toFixed(0)} ms (${(median(status) / median(baseline)).toFixed(2)}x the baseline), computation ${median(inside).toFixed(1)} ms; idle RSS under 100 MiB: ${peak.toFixed(0)} MiB; idle CPU under 1%: ${(cpuShare * 100).toFixed(2)}%; scrape under 100 ms: ${median(scrapes).toFixed(1)} ms`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
