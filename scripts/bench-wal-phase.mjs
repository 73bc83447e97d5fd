// One phase of the WAL archiving benchmark (scripts/bench-wal.sh): runs pgbench against the
// cluster while sampling, every 250 ms, the server's WAL position, which segments each tool
// has stored, and the CPU time of each tool's processes; then closes the last segment, waits
// (at most 2 minutes) for every tool to store it, and prints one JSON summary.
//
//   node scripts/bench-wal-phase.mjs '{"url":..., "seconds":120, "segmentSize":16777216,
//     "tools": {"drd stream": {"dir": ".../wal", "pattern": "^([0-9A-F]{24})\\.json$", "pids": [..], "archiver": false}, ...}}'
//
// A tool's CPU: its processes' user+system time (with the children they waited for), and,
// with "archiver": true, the CPU of the server archiver's children (archive_command runs as
// one each time). A segment's lag: from the first sample that saw the server's WAL past
// its end to the first that saw it stored.
import { execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

import { promisify } from "node:util";
import pg from "pg";

const cfg = JSON.parse(process.argv[2]);
const TICK = Number(process.env.HZ_TICK ?? 0) || Number((await promisify(execFile)("getconf", ["CLK_TCK"])).stdout.trim());
const client = new pg.Client({ connectionString: cfg.url });
await client.connect();

/** utime + stime + cutime + cstime of a process, in seconds; 0 once it is gone. */
function cpu(pid, own = true, children = true) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // Fields after "(comm) ": state is [0]; utime [11], stime [12], cutime [13], cstime [14].
    return ((own ? +f[11] + +f[12] : 0) + (children ? +f[13] + +f[14] : 0)) / TICK;
  } catch {
    return 0;
  }
}
function hwmKiB(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
  } catch {
    return 0;
  }
}
async function archiverPid() {
  const { rows } = await client.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'");
  return rows[0]?.pid;
}
function stored(tool) {
  const re = new RegExp(tool.pattern);
  const names = new Set();
  let entries = [];
  try {
    entries = readdirSync(tool.dir, { recursive: true });
  } catch {
    // not made yet: nothing stored
  }
  for (const entry of entries) {
    const m = re.exec(String(entry).split("/").pop());
    if (m) names.add(m[1]);
  }
  return names;
}
const lsnOf = (text) => {
  const [hi, lo] = text.split("/");
  return BigInt(`0x${hi}`) * 0x100000000n + BigInt(`0x${lo}`);
};
const segName = (n) => {
  const perLog = 0x100000000n / BigInt(cfg.segmentSize);
  const hex = (v) => v.toString(16).toUpperCase().padStart(8, "0");
  return `${hex(1)}${hex(n / perLog)}${hex(n % perLog)}`;
};

const archiver = await archiverPid();
const tools = Object.entries(cfg.tools).map(([name, t]) => ({
  name,
  ...t,
  cpu0: t.pids.reduce((s, p) => s + cpu(p), 0) + (t.archiver ? cpu(archiver, false, true) : 0),
  pidCpu0: t.pids.map((p) => cpu(p)),
  seen: new Map([...stored(t)].map((n) => [n, 0])),
}));
const complete = new Map();
const startLsn = lsnOf((await client.query("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l);
const started = Date.now();
let lastLsn = startLsn;
let peakRss = 0;

async function sample() {
  const now = Date.now();
  lastLsn = lsnOf((await client.query("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l);
  const full = lastLsn / BigInt(cfg.segmentSize);
  for (let n = startLsn / BigInt(cfg.segmentSize); n < full; n++) if (!complete.has(segName(n))) complete.set(segName(n), now);
  for (const t of tools) for (const name of stored(t)) if (!t.seen.has(name)) t.seen.set(name, now);
  const drdRss = tools.filter((t) => t.name.startsWith("drd")).flatMap((t) => t.pids).reduce((s, p) => s + hwmKiB(p), 0);
  peakRss = Math.max(peakRss, drdRss);
}

const timer = setInterval(() => void sample().catch(() => undefined), 250);
const bench = spawn("pgbench", ["-n", "-c", "4", "-j", "2", "-T", String(cfg.seconds), "-P", "30", cfg.url], { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
bench.stdout.on("data", (d) => (out += d));
await new Promise((resolve, reject) => bench.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pgbench exited ${code}`)))));
const loadEnded = Date.now();
await sample();
const backlogAtEnd = Object.fromEntries(tools.map((t) => [t.name, [...complete.keys()].filter((n) => !t.seen.has(n)).length]));
// The last segment closed, then every tool given up to 2 minutes to store all.
const last = (await client.query("SELECT pg_walfile_name(pg_switch_wal()) AS n")).rows[0].n;
const deadline = Date.now() + 120_000;
while (Date.now() < deadline) {
  await sample();
  if (tools.every((t) => [...complete.keys()].every((n) => t.seen.has(n)) && t.seen.has(last))) break;
  await new Promise((r) => setTimeout(r, 250));
}
clearInterval(timer);
const wal = Number(lastLsn - startLsn);
const tps = /tps = ([\d.]+)/.exec(out)?.[1];
const summary = {
  seconds: (loadEnded - started) / 1000,
  tps: tps ? Number(tps) : null,
  wal_mib: wal / 1048576,
  segments_produced: complete.size,
  segments_per_s: complete.size / ((loadEnded - started) / 1000),
  drd_peak_rss_mib: peakRss / 1024,
  tools: Object.fromEntries(
    tools.map((t) => {
      const lags = [...complete].filter(([n]) => t.seen.has(n) && t.seen.get(n) > 0).map(([n, at]) => Math.max(0, t.seen.get(n) - at) / 1000);
      const cpuS = t.pids.reduce((s, p) => s + cpu(p), 0) + (t.archiver ? cpu(archiver, false, true) : 0) - t.cpu0;
      return [
        t.name,
        {
          archived: [...complete.keys()].filter((n) => t.seen.has(n)).length,
          missing: [...complete.keys()].filter((n) => !t.seen.has(n)),
          backlog_at_load_end: backlogAtEnd[t.name],
          max_lag_s: lags.length ? Math.max(...lags) : null,
          median_lag_s: lags.length ? lags.sort((a, b) => a - b)[Math.floor((lags.length - 1) / 2)] : null,
          cpu_s: cpuS,
          // Each process's share (with the children it waited for), then the archiver's children.
          cpu_s_by_process: [...t.pids.map((p, i) => cpu(p) - t.pidCpu0[i]), ...(t.archiver ? [cpuS - t.pids.reduce((s, p, i) => s + cpu(p) - t.pidCpu0[i], 0)] : [])],
          cpu_s_per_gib: cpuS / (wal / 2 ** 30),
        },
      ];
    }),
  ),
};
await client.end();
console.log(JSON.stringify(summary, null, 2));

