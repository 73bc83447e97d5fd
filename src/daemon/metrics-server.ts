import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AppContext } from "../app/context.js";
import { metricsSnapshot } from "../app/metrics.js";
import { OperationError } from "../errors.js";
import { BUILD, VERSION } from "../version.js";

/** Scrapers: Prometheus and a person with curl. A few is plenty; each costs a descriptor. */
const MAX_CONNECTIONS = 32;
/** Idle and slow clients are closed: headers within 5 s, the whole request within 10 s, checked every second. */
const LIMITS = { headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };

/**
 * Serves GET /metrics in the Prometheus text format (prom-client: the format, and the
 * process metrics, done the way every Node exporter does). Each scrape reads the catalog
 * once; nothing here starts work. Names follow Prometheus conventions: `drd_` prefix,
 * `_seconds`, `_bytes`, `_timestamp_seconds`, `_total`. The backup job is `backup_job`:
 * Prometheus attaches its own `job` (the scrape job) and would rename a `job` of drd's.
 */
export class MetricsServer {
  private server: Server | undefined;

  /** `current` gives the config in force at each scrape (a reload changes objectives and jobs). */
  constructor(private readonly current: () => AppContext) {}

  async start(listen: string): Promise<string> {
    const client = await import("prom-client");
    const registry = new client.Registry();
    // The event-loop delay histogram samples once a second, not every 10 ms (prom-client's
    // default wakes an idle daemon 100 times a second).
    client.collectDefaultMetrics({ register: registry, prefix: "drd_", eventLoopMonitoringPrecision: 1000 });
    // Gauges that prom-client names like counters: `promtool check metrics` rejects them.
    for (const name of ["drd_nodejs_active_handles_total", "drd_nodejs_active_requests_total", "drd_nodejs_active_resources_total"]) registry.removeSingleMetric(name);
    const current = this.current;
    let snapshot: ReturnType<typeof metricsSnapshot> | undefined;
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: import("prom-client").Gauge, s: ReturnType<typeof metricsSnapshot>) => void) =>
      new client.Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          fill(this, (snapshot ??= metricsSnapshot(current())));
        },
      });
    const perJob = (name: string, help: string, value: (j: ReturnType<typeof metricsSnapshot>["jobs"][number]) => number | boolean | null) =>
      gauge(name, help, ["backup_job"], (g, s) => {
        for (const j of s.jobs) {
          const v = value(j);
          if (v !== null) g.set({ backup_job: j.job }, typeof v === "boolean" ? Number(v) : v);
        }
      });
    perJob("drd_job_last_good_backup_timestamp_seconds", "Snapshot time of the newest backup that meets the 3-2-1 policy.", (j) => (j.lastGoodBackupAt === null ? null : j.lastGoodBackupAt / 1000));
    perJob("drd_job_rpo_seconds", "The job's recovery point objective.", (j) => j.rpoSeconds);
    perJob("drd_job_rpo_breach", "1 while the newest good backup is older than the RPO.", (j) => j.rpoBreach);
    perJob("drd_job_last_backup_duration_seconds", "Duration of the job's newest successful run.", (j) => j.lastBackupDurationSeconds);
    perJob("drd_job_last_backup_size_bytes", "Size of the job's newest backup (all artifacts).", (j) => j.lastBackupSizeBytes);
    perJob("drd_job_policy_ok", "1 when the job's newest backup meets the 3-2-1 policy.", (j) => j.policyOk);
    perJob("drd_job_last_drill_timestamp_seconds", "When the job's newest drill finished.", (j) => (j.lastDrillAt === null ? null : j.lastDrillAt / 1000));
    perJob("drd_job_last_drill_duration_seconds", "Duration of the job's newest drill (its measured RTO when it passed).", (j) => j.lastDrillDurationSeconds);
    perJob("drd_job_last_drill_success", "1 when the job's newest drill passed.", (j) => j.lastDrillOk);
    perJob("drd_job_rto_seconds", "The job's recovery time objective.", (j) => j.rtoSeconds);
    perJob("drd_job_failing_runs", "Backup runs failed in a row (0 once a run succeeds).", (j) => j.failingRuns);
    perJob("drd_job_wal_lag_seconds", "Cluster jobs: the age of the oldest write not yet archived on every target (0 when caught up).", (j) => j.walLagSeconds);
    perJob("drd_job_rto_breach", "1 while the RTO is in breach (newest drill failed, too slow, or none recent).", (j) => j.rtoBreach);
    new client.Counter({
      name: "drd_job_runs_total",
      help: "Backup runs by outcome (succeeded, failed, interrupted, running), from the catalog.",
      labelNames: ["backup_job", "outcome"],
      registers: [registry],
      collect() {
        this.reset();
        for (const j of (snapshot ??= metricsSnapshot(current())).jobs) for (const [outcome, n] of Object.entries(j.runs)) this.inc({ backup_job: j.job, outcome }, n);
      },
    });
    gauge("drd_copies", "Copies of the job's backups on each target, by state.", ["backup_job", "target", "state"], (g, s) => {
      for (const c of s.copies) g.set({ backup_job: c.job, target: c.target, state: c.state }, c.count);
    });
    gauge("drd_alerts_waiting", "Alerts waiting for delivery, by channel.", ["channel"], (g, s) => {
      for (const w of s.alertsWaiting) g.set({ channel: w.channel }, w.count);
    });
    new client.Counter({
      name: "drd_alerts_dropped_total",
      help: "Alerts dropped undelivered after alert_expiry, from the catalog.",
      registers: [registry],
      collect() {
        this.reset();
        this.inc((snapshot ??= metricsSnapshot(current())).alertsDropped);
      },
    });
    gauge("drd_target_stored_bytes", "Bytes of the backups held on the target (written or verified copies).", ["target"], (g, s) => {
      for (const t of s.targets) g.set({ target: t.target }, t.storedBytes);
    });
    gauge("drd_target_pending_copies", "Copies waiting to be written to the target.", ["target"], (g, s) => {
      for (const t of s.targets) g.set({ target: t.target }, t.pendingCopies);
    });

    new client.Gauge({ name: "drd_build_info", help: "The running drd: its version and build (1).", labelNames: ["version", "build"], registers: [registry] }).set({ version: VERSION, build: BUILD }, 1);

    this.server = createServer(LIMITS, (req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return void res.writeHead(404).end("GET /metrics\n");
      snapshot = undefined;
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(`${err.message}\n`),
      );
    });
    // Connections beyond this are closed as they come: a local user opening thousands of
    // sockets must not use up the descriptors a backup needs to start.
    this.server.maxConnections = MAX_CONNECTIONS;
    const at = listen.lastIndexOf(":");
    const host = listen.slice(0, at).replace(/^\[|\]$/g, "");
    const port = Number(listen.slice(at + 1));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", (err: NodeJS.ErrnoException) => reject(new OperationError(`cannot serve metrics on ${listen}: ${err.code ?? err.message}`)));
      this.server!.listen(port, host, resolve);
    });
    const address = this.server.address() as AddressInfo;
    return `${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
