import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { waitFor } from "../helpers/files.js";
import { freePort } from "../helpers/postgres-cluster.js";
import { REPO, Workspace } from "../helpers/workspace.js";

interface RulesAnswer {
  data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
}
interface AlertsAnswer {
  data: { alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string }[] };
}

/**
 * Debian's Prometheus scraping a running daemon, wired as the docs say: the scrape config
 * shipped in config/prometheus/scrape.yml and the shipped rules, unchanged (scraped and
 * evaluated every second here). A job past its RPO must fire DrdRpoBreach naming the backup
 * job, with Prometheus's own `job` label left to the scrape.
 */
describe("a real Prometheus scraping drd", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  afterAll(() => ws.remove());

  it("every shipped rule is healthy, and an RPO breach fires DrdRpoBreach naming the backup job", async () => {
    const metricsPort = await freePort();
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "3s", targets: ["local"] } }, { metrics: { listen: `127.0.0.1:${metricsPort}` } });
    const { process: daemon, log } = ws.daemon();

    const scrape = parse(readFileSync(`${REPO}/config/prometheus/scrape.yml`, "utf8")) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    scrape.scrape_configs[0]!.static_configs[0]!.targets = [`127.0.0.1:${metricsPort}`];
    writeFileSync(
      ws.path("prometheus.yml"),
      stringify({ global: { scrape_interval: "1s", evaluation_interval: "1s" }, rule_files: [`${REPO}/config/prometheus/drd.rules.yml`], ...scrape }),
    );
    const webPort = await freePort();
    const prometheus = execa("prometheus", [`--config.file=${ws.path("prometheus.yml")}`, `--storage.tsdb.path=${ws.path("tsdb")}`, `--web.listen-address=127.0.0.1:${webPort}`], { reject: false });
    const api = async <T>(path: string): Promise<T | undefined> => {
      try {
        const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
        return res.ok ? ((await res.json()) as T) : undefined;
      } catch {
        return undefined;
      }
    };
    let rules: RulesAnswer | undefined;
    let alert: AlertsAnswer["data"]["alerts"][number] | undefined;
    const ask = async () => {
      rules = await api<RulesAnswer>("/api/v1/rules");
      alert = (await api<AlertsAnswer>("/api/v1/alerts"))?.data.alerts.find((a) => a.labels.alertname === "DrdRpoBreach" && a.state === "firing");
    };
    try {
      await waitFor(() => log().includes('"msg":"scheduled"'), 30_000, "the daemon");
      // The shipped rule waits 1 minute in breach before it fires.
      const deadline = Date.now() + 100_000;
      while (!alert && Date.now() < deadline) {
        await ask();
        if (!alert) await new Promise((r) => setTimeout(r, 1_000));
      }
      const all = rules!.data.groups.flatMap((g) => g.rules);
      expect(all.map((r) => r.name).sort()).toEqual(["DrdCopiesPending", "DrdDown", "DrdNoRecentDrill", "DrdRpoBreach", "DrdRtoBreach"]);
      expect(all.filter((r) => r.health !== "ok")).toEqual([]);
      expect(alert?.labels).toMatchObject({ alertname: "DrdRpoBreach", backup_job: "config", job: "drd", severity: "critical" });
      expect(alert?.annotations.summary).toBe(`drd job config on 127.0.0.1:${metricsPort} is past its RPO`);
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus;
      daemon.kill("SIGTERM");
      await daemon;
    }
  });

  it("promtool check metrics finds nothing wrong with the page", async () => {
    const metricsPort = await freePort();
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1h", targets: ["local"] } }, { metrics: { listen: `127.0.0.1:${metricsPort}` } });
    const { process: daemon, log } = ws.daemon();
    try {
      // The first test's backups are in the catalog: the page has every per-job series.
      await waitFor(() => log().includes('"msg":"scheduled"'), 30_000, "the daemon");
      const page = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const check = await execa("promtool", ["check", "metrics"], { input: page, reject: false });
      expect(check.stdout + check.stderr).toBe("");
      expect(check.exitCode).toBe(0);
    } finally {
      daemon.kill("SIGTERM");
      await daemon;
    }
  });
});
