import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { freePort } from "../helpers/postgres-cluster.js";
import { Workspace } from "../helpers/workspace.js";

/** The Prometheus text format, as `name{labels} value` -> value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe("Prometheus metrics from the daemon", () => {
  const ws = new Workspace();
  let port = 0;
  let daemon: ReturnType<Workspace["drctl"]>;
  let log = "";

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    port = await freePort();
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir }, offsite: { type: "local", path: ws.path("offsite"), media: "cloud", offsite: true } },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1h", rto: "4h", targets: ["local", "offsite"] } },
      metrics: { listen: `127.0.0.1:${port}` },
    });
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    expect((await ws.drctl(["drill", "config", "--target", "offsite"])).exitCode).toBe(0);
    daemon = ws.drctl(["daemon", "--allow-root"]);
    daemon.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('"msg":"scheduled"') || undefined, 30_000, "the daemon");
  });
  afterAll(async () => {
    daemon?.kill("SIGTERM");
    await daemon;
    ws.remove();
  });

  it("every metric agrees with the catalog as drctl status and list report it", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parse(await res.text());
    const status = JSON.parse((await ws.drctl(["status", "--json"])).stdout)[0];
    const listed = JSON.parse((await ws.drctl(["list", "--json"])).stdout)[0];
    const job = '{backup_job="config"}';
    expect(m.get(`drd_job_last_good_backup_timestamp_seconds${job}`)).toBe(Date.parse(status.last_backup_at) / 1000);
    expect(m.get(`drd_job_rpo_seconds${job}`)).toBe(3600);
    expect(m.get(`drd_job_rpo_breach${job}`)).toBe(0);
    expect(m.get(`drd_job_last_backup_size_bytes${job}`)).toBe(listed.size);
    expect(m.get(`drd_job_last_backup_duration_seconds${job}`)).toBeGreaterThan(0);
    expect(m.get(`drd_job_policy_ok${job}`)).toBe(1);
    expect(m.get(`drd_job_runs_total{backup_job="config",outcome="succeeded"}`)).toBe(1);
    expect(m.get(`drd_copies{backup_job="config",target="local",state="verified"}`)).toBe(1);
    expect(m.get(`drd_copies{backup_job="config",target="offsite",state="verified"}`)).toBe(1);
    expect(m.get(`drd_job_last_drill_timestamp_seconds${job}`)).toBe(Date.parse(status.last_drill.at) / 1000);
    expect(m.get(`drd_job_last_drill_duration_seconds${job}`)).toBe(status.last_drill.duration_seconds);
    expect(m.get(`drd_job_last_drill_success${job}`)).toBe(1);
    expect(m.get(`drd_job_rto_seconds${job}`)).toBe(14_400);
    expect(m.get(`drd_job_rto_breach${job}`)).toBe(0);
    expect(m.get(`drd_target_stored_bytes{target="local"}`)).toBe(listed.size);
    expect(m.get(`drd_target_pending_copies{target="offsite"}`)).toBe(0);
    expect(m.get("drd_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
  });

  it("a listen address beyond loopback is refused unless allow_remote", async () => {
    const other = new Workspace();
    try {
      other.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } }, { metrics: { listen: "0.0.0.0:9464" } });
      const run = await other.drctl(["config", "check"]);
      expect(run.stderr).toBe("metrics.listen: is not a loopback address: set allow_remote: true to serve metrics beyond this host");
      expect(run.exitCode).toBe(2);
      other.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } }, { metrics: { listen: "0.0.0.0:9464", allow_remote: true } });
      expect((await other.drctl(["config", "check"])).exitCode).toBe(0);
    } finally {
      other.remove();
    }
  });
});
