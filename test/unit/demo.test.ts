import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema } from "../../src/config/schema.js";
import { demoConfig, drillSchedule, everySeconds, PACES, type DemoPlaces } from "../../src/demo/config.js";
import { narrate, notGreen } from "../../src/demo/demo.js";
import { nextSlot } from "../../src/policy/schedule.js";

const places: DemoPlaces = {
  home: "/tmp/demo/drd",
  configDir: "/tmp/demo/sources/app-config",
  certsDir: "/tmp/demo/sources/certs",
  databaseUrl: "postgresql://postgres@127.0.0.1:5432/shop",
  drillUrl: "postgresql://postgres@127.0.0.1:5432/postgres",
  clusterUrl: "postgresql://postgres@127.0.0.1:5432/postgres",
  s3Endpoint: "http://127.0.0.1:9000",
  bucket: "drd-demo",
  receiverUrl: "http://127.0.0.1:9001/alerts",
  metricsPort: 9464,
};

describe("the demo's schedules", () => {
  it.each([
    [5, 0, "0,5,10,15,20,25,30,35,40,45,50,55 * * * * *"],
    [20, 47, "7,27,47 * * * * *"],
    [60, 0, "0 * * * * *"],
    [60, 95, "35 * * * * *"],
    [120, 0, "0 */2 * * * *"],
  ])("every %i s from second %i is %s", (every, offset, cron) => {
    expect(everySeconds(every, offset)).toBe(cron);
  });

  it.each([7, 45, 90, 7 * 60])("refuses %i s, which does not divide the minute or the hour", (every) => {
    expect(() => everySeconds(every)).toThrow();
  });

  // A drill before the first backup fails and raises an RTO alert: no demo may open with one.
  it.each(Object.values(PACES).flatMap((pace) => [0, 1, 2].map((i) => [pace.name, i, pace] as const)))(
    "%s pace: drill %i first runs after its lead, then once per period, whatever second the demo starts",
    (_name, i, pace) => {
      for (let second = 0; second < 60; second++) {
        const start = Date.UTC(2026, 11, 6, 9, 30, second, 700);
        const schedule = drillSchedule(pace, new Date(start), i);
        const first = nextSlot(schedule, "UTC", start);
        const lead = pace.drillLead + i * pace.drillGap;
        expect((first - start) / 1000).toBeGreaterThanOrEqual(lead - 1);
        expect((first - start) / 1000).toBeLessThanOrEqual(lead);
        expect((nextSlot(schedule, "UTC", first) - first) / 1000).toBe(pace.drillEvery);
      }
    },
  );
});

describe("the demo's config", () => {
  const started = new Date("2026-12-06T09:30:12Z");
  const raw = parse(demoConfig(places, PACES.normal, started));
  const config = configSchema.parse(raw);

  it("is a valid config: four jobs, each on both targets with a drill, under a 3-2-1 policy", () => {
    expect(Object.keys(config.jobs)).toEqual(["database", "config", "certificates", "cluster"]);
    expect(config.jobs.cluster).toMatchObject({ type: "postgres_cluster", wal: { mode: "stream" } });
    for (const job of Object.values(config.jobs)) {
      expect(job.targets).toEqual(["local", "offsite"]);
      expect(job.drill?.schedule).toBeTruthy();
      expect(job.rto).toBeDefined();
    }
    expect(config.policy).toEqual({ copies: 2, media: 2, offsite: 1 });
    expect(config.targets.offsite).toMatchObject({ type: "s3", bucket: "drd-demo", endpoint: "http://127.0.0.1:9000" });
  });

  it("encrypts the certificates and gives their drill the private key; signs every manifest", () => {
    expect(raw.jobs.certificates.encrypt.recipients).toEqual(["/tmp/demo/drd/keys/backup-public.asc"]);
    expect(raw.jobs.certificates.drill.key_file).toBe("/tmp/demo/drd/keys/backup-secret.asc");
    expect(raw.signing.key_file).toBe("/tmp/demo/drd/keys/signing-secret.asc");
  });

  it("sends alerts to the receiver and serves metrics on loopback", () => {
    expect(raw.alerts).toEqual([expect.objectContaining({ type: "webhook", url: "http://127.0.0.1:9001/alerts" })]);
    expect(raw.metrics.listen).toBe("127.0.0.1:9464");
  });

  it.each(Object.values(PACES))("$name pace: the database's RPO outlasts two of its backups, so only an outage breaches it", (pace) => {
    const c = configSchema.parse(parse(demoConfig(places, pace, started)));
    expect(c.jobs.database!.rpo).toBeGreaterThanOrEqual(2 * pace.database.every);
    expect(c.jobs.config!.rpo).toBeGreaterThanOrEqual(2 * pace.files.every);
    expect(nextSlot(c.jobs.database!.schedule, "UTC", started.getTime()) - started.getTime()).toBeLessThanOrEqual(pace.database.every * 1000);
  });
});

describe("what the demo waits for and tells", () => {
  const green = {
    job: "database",
    rpo_state: "ok",
    policy_ok: true,
    copies: [{ target: "local", state: "verified" }, { target: "offsite", state: "verified" }],
    last_drill: { ok: true, duration_seconds: 0.4 },
  };
  it.each([
    ["every job green", [green], []],
    ["no status", [], ["(no jobs in status)"]],
    ["RPO breached", [{ ...green, rpo_state: "breach" }], ["database: RPO breach"]],
    ["an offsite copy pending", [{ ...green, policy_ok: false, copies: [green.copies[0]!, { target: "offsite", state: "pending" }] }], ["database: policy not met; copies: local verified, offsite pending"]],
    ["one copy only", [{ ...green, copies: [green.copies[0]!] }], ["database: copies: local verified"]],
    ["no drill yet", [{ ...green, last_drill: null }], ["database: no drill yet"]],
    ["a failed drill", [{ ...green, last_drill: { ok: false, duration_seconds: 1 } }], ["database: last drill failed"]],
  ])("%s", (_what, jobs, behind) => {
    expect(notGreen(jobs)).toEqual(behind);
  });

  it.each([
    [{ msg: "backup done", job: "config", bytes: 2048, ms: 300, copies: [{ target: "local", state: "verified" }] }, "backup of config: 2 KiB in 0.3 s, local verified"],
    [{ msg: "backup failed", job: "database", error: "connection refused" }, "backup of database FAILED: connection refused"],
    [{ msg: "drill done", job: "database", ok: true, from: "offsite", seconds: 1.25 }, "drill of database passed: restored from offsite and checked in 1.3 s (the measured RTO)"],
    [{ msg: "drill done", job: "certificates", ok: false, error: "no key" }, "drill of certificates FAILED: no key"],
    [{ msg: "scheduled", job: "config" }, undefined],
  ])("narrates %j", (entry, line) => {
    expect(narrate(JSON.stringify(entry))).toBe(line);
  });

  it("ignores what is not a JSON log line", () => {
    expect(narrate("not json")).toBeUndefined();
  });
});
