import { readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { parseSegmentName } from "../../src/policy/wal.js";
import { slotName, walRecordSchema } from "../../src/wal/layout.js";
import { psql } from "../helpers/postgres-cluster.js";
import { query, startRestored } from "../helpers/restored-cluster.js";
import { testClient, writeLocalAndS3Config } from "../helpers/s3.js";
import { signingKeyFiles } from "../helpers/signing.js";
import { WebhookReceiver } from "../helpers/receivers.js";
import { Workspace } from "../helpers/workspace.js";
import { parse } from "yaml";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { baseBackup as baseBackupOf, s3RecordWhole, waitFor } from "../helpers/cluster-job.js";
import { clusterScratchPrefix } from "../../src/app/drill.js";

const SEGMENT = 16 << 20;

/** The daemon streams a cluster's WAL: pg_receivewal with a slot, each completed segment stored on every target, signed. */
describe("WAL streaming of a cluster job", () => {
  const ws = new Workspace();
  let server: Cluster;
  let bucket = "";
  const productionArchive = () => join(server.dataDir, "..", "production-archive");

  const localSegments = () =>
    (readdirSync(join(ws.backupDir, "cluster", "wal"), { withFileTypes: true }) as { name: string }[])
      .map((e) => e.name)
      // Stored once its record is there: the record is written last.
      .filter((n) => /^[0-9A-F]{24}\.json$/.test(n))
      .map((n) => n.slice(0, 24))
      .sort();
  const onBothTargets = (segment: string) =>
    waitFor(`segment ${segment} on both targets`, async () => {
      if (!localSegments().includes(segment)) return false;
      return s3RecordWhole(inject("s3Port"), bucket, "cluster", segment);
    });
  const baseBackup = () => baseBackupOf(ws, "cluster");
  type Status = { rpo_state: string; wal_lag_seconds: number | null; recovery_window: { from: string; to: string } | null };
  const clusterStatus = async () => (JSON.parse((await ws.drctl(["status", "--json"])).stdout) as Status[])[0]!;
  /** Writes, then closes the current segment: the name of the segment just closed. */
  const fillSegment = async (rows: number) => {
    await psql(server, "postgres", `INSERT INTO marks SELECT g, now() FROM generate_series(1, ${rows}) g`);
    return (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
  };

  beforeAll(async () => {
    server = await startCluster();
    await psql(server, "postgres", "CREATE TABLE marks (n int, at timestamptz)");
    // The production cluster archives too (as many do beside streaming): a restored copy must not add to it.
    const { chownSync, mkdirSync, statSync } = await import("node:fs");
    mkdirSync(productionArchive());
    chownSync(productionArchive(), statSync(server.dataDir).uid, statSync(server.dataDir).gid);
    await psql(server, "postgres", "ALTER SYSTEM SET archive_mode = on");
    await psql(server, "postgres", `ALTER SYSTEM SET archive_command = 'cp %p ${productionArchive()}/%f'`);
    await server.pause();
    await server.resume();
    bucket = await writeLocalAndS3Config(ws, inject("s3Port"), "wal", {
      cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"] },
    });
  });
  afterAll(async () => {
    await server.stop();
    ws.remove();
  });

  it("creates its slot, and stores each completed segment on both targets with a signed record", async () => {
    const daemon = ws.daemon();
    try {
      await waitFor("the slot", async () => (await psql(server, "postgres", `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slotName("cluster")}'`)) === "1");
      const closed = await fillSegment(1000);
      await waitFor(`segment ${closed} on the local target`, () => localSegments().includes(closed)).catch((err: Error) => {
        const spool = join(ws.stateDir, "wal", "cluster");
        throw new Error(`${err.message}; spool: ${readdirSync(spool).join(" ")}; local: ${readdirSync(join(ws.backupDir, "cluster", "wal")).join(" ")}; daemon log: ${daemon.log().slice(-4000)}`);
      });
      const dir = join(ws.backupDir, "cluster", "wal");
      const recordText = readFileSync(join(dir, `${closed}.json`), "utf8");
      const record = walRecordSchema.parse(JSON.parse(recordText));
      expect(record).toMatchObject({ job: "cluster", name: closed, compression: "zstd", encryption: null, content: { size: SEGMENT } });
      expect(record.system_identifier).toBe(await psql(server, "postgres", "SELECT system_identifier FROM pg_control_system()"));
      // The stored object is the segment, zstd-compressed: its bytes are the ones the record names.
      const raw = await execa("zstd", ["-dc", join(dir, `${closed}.zst`)], { encoding: "buffer" });
      expect(raw.stdout.length).toBe(SEGMENT);
      // The record's signature verifies with the trusted key.
      const key = await openpgp.readKey({ armoredKey: readFileSync(signingKeyFiles().public, "utf8") });
      const verified = await openpgp.verify({
        message: await openpgp.createMessage({ binary: Buffer.from(recordText) }),
        signature: await openpgp.readSignature({ armoredSignature: readFileSync(join(dir, `${closed}.json.sig`), "utf8") }),
        verificationKeys: key,
      });
      await expect(verified.signatures[0]!.verified).resolves.toBe(true);
      // And on S3, the same three objects.
      await waitFor("the segment on S3", async () => {
        const listed = await testClient(inject("s3Port")).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "drd/cluster/wal/" }));
        const keys = (listed.Contents ?? []).map((o) => o.Key);
        return [".zst", ".json", ".json.sig"].every((ext) => keys.includes(`drd/cluster/wal/${closed}${ext}`));
      });
      // Nothing of it is left in the spool.
      await waitFor("an empty spool", () => !readdirSync(join(ws.stateDir, "wal", "cluster")).includes(closed));
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
  }, 90_000);

  it("a daemon killed outright loses nothing: the slot keeps the WAL written meanwhile, and the archive has no gap", async () => {
    const first = ws.daemon();
    await waitFor("the daemon receiving", () => first.log().includes("receiving WAL"));
    const before = await fillSegment(500);
    await waitFor(`segment ${before}`, () => localSegments().includes(before));
    first.process.kill("SIGKILL");
    await first.process;
    // Written while no daemon runs: the server holds it for the slot.
    const during = [await fillSegment(500), await fillSegment(500)];
    // The killed daemon's pg_receivewal lives on, holding the slot: the next daemon stops it and takes over.
    const spool = join(ws.stateDir, "wal", "cluster");
    const orphans = async () => (await execa("pgrep", ["-f", `pg_receivewal --directory ${spool}`], { reject: false })).stdout.split("\n").filter(Boolean);
    const [orphan] = await orphans();
    expect(orphan).toBeDefined();
    const second = ws.daemon();
    try {
      await waitFor("the orphan stopped", async () => !(await orphans()).includes(orphan!));
      expect(second.log()).toContain("stopping a pg_receivewal left by an earlier daemon");
      for (const name of during) await waitFor(`segment ${name} after the restart`, () => localSegments().includes(name));
      const names = localSegments();
      const numbers = names.map((n) => parseSegmentName(n, SEGMENT)!.number);
      for (let i = 1; i < numbers.length; i++) expect(numbers[i]! - numbers[i - 1]!, `${names[i - 1]} then ${names[i]}`).toBe(1n);
    } finally {
      second.process.kill("SIGTERM");
      await second.process;
    }
  }, 120_000);

  it("restores to a moment: the row committed before it comes back and the one after does not; latest brings both; from either target", async () => {
    const daemon = ws.daemon();
    let baseId = "";
    let last = "";
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      baseId = await baseBackup();
      await psql(server, "postgres", "CREATE TABLE IF NOT EXISTS markers (name text, at timestamptz default clock_timestamp())");
      await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('before')");
      const t = (await psql(server, "postgres", "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")).trim();
      await new Promise((r) => setTimeout(r, 1100));
      await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('after')");
      await fillSegment(10);
      // More WAL after the moment: a restore to the moment does not fetch it, one to latest does.
      await fillSegment(10);
      last = await fillSegment(10);
      await onBothTargets(last);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    // The base backup and the WAL after it on both targets: a restorable moment, within the RPO.
    const [status] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { rpo_state: string; last_backup_id: string; age_seconds: number }[];
    expect(status).toMatchObject({ rpo_state: "ok", last_backup_id: baseId });
    expect(status!.age_seconds).toBeLessThan(60);
    expect((await ws.drctl(["status"])).stdout).toContain(`base backup ${baseId} and its archived WAL`);
    await execa("chmod", ["755", ws.dir]);
    const markers = async (dir: string) => {
      const restored = await startRestored(dir);
      try {
        return (await execa("psql", ["-XAtq", "-h", dir, "-p", String(restored.port), "-U", "postgres", "-d", "postgres", "-c", "SELECT string_agg(name, ',' ORDER BY at) FROM markers"])).stdout;
      } finally {
        await restored.stop();
      }
    };
    const at = (await execa("psql", ["-XAtq", "-d", server.url("postgres"), "-c", "SELECT to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM markers WHERE name = 'before'"])).stdout.trim();
    for (const from of ["local", "offsite"]) {
      const toTime = ws.path(`pitr-time-${from}`);
      const run = await ws.drctl(["restore", "cluster", "--at", new Date(Date.parse(at) + 500).toISOString(), "--to-dir", toTime, "--from", from, "--check"]);
      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/^checked: the restored cluster started and accepted connections in [\d.]+ s; recovery reached /m);
      expect([from, await markers(toTime), run.stdout]).toEqual([from, "before", expect.anything()]);
      expect(run.stdout).not.toContain(last);
    }
    // A bare machine: no catalog, only the config, the trusted key and the target.
    const { renameSync } = await import("node:fs");
    renameSync(join(ws.stateDir, "catalog.sqlite"), join(ws.stateDir, "catalog.sqlite.away"));
    try {
      const bare = ws.path("pitr-bare");
      const run = await ws.drctl(["restore", "cluster", "--at", new Date(Date.parse(at) + 500).toISOString(), "--to-dir", bare, "--from", "offsite"]);
      expect([run.exitCode, run.stderr]).toEqual([0, ""]);
      expect(await markers(bare)).toBe("before");
    } finally {
      for (const f of readdirSync(ws.stateDir).filter((n) => n.startsWith("catalog.sqlite") && !n.endsWith(".away"))) (await import("node:fs")).rmSync(join(ws.stateDir, f));
      renameSync(join(ws.stateDir, "catalog.sqlite.away"), join(ws.stateDir, "catalog.sqlite"));
    }
    const toLatest = ws.path("pitr-latest");
    const latest = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", toLatest]);
    expect([latest.exitCode, latest.stderr]).toEqual([0, ""]);
    expect(await markers(toLatest)).toBe("before,after");
    expect(latest.stdout).toContain(last);
    // A restored cluster archives nothing: archive_mode is off, though the production cluster
    // had it on; its new timeline (2, after the promotion) never reaches the production archive.
    expect(readFileSync(join(toLatest, "postgresql.auto.conf"), "utf8")).toMatch(/^archive_mode = 'off'$/m);
    expect(readdirSync(productionArchive()).some((n) => n.startsWith("00000001"))).toBe(true);
    expect(readdirSync(productionArchive()).filter((n) => n.startsWith("00000002"))).toEqual([]);
  }, 180_000);

  it("status measures a cluster job's RPO as the WAL's lag: a write in the open segment is shipped as a partial copy within seconds, and restores; while a target refuses it, its age grows", async () => {
    const daemon = ws.daemon();
    const dir = join(ws.backupDir, "cluster", "wal");
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      const closed = await fillSegment(10);
      await waitFor(`segment ${closed}`, () => localSegments().includes(closed));
      // Caught up: the samples taken since are all within what is archived.
      await new Promise((r) => setTimeout(r, 6_000));
      const caughtUp = await clusterStatus();
      expect(caughtUp.wal_lag_seconds).not.toBeNull();
      expect(caughtUp.wal_lag_seconds!).toBeLessThan(15);
      expect(caughtUp.recovery_window).not.toBeNull();
      expect(Date.parse(caughtUp.recovery_window!.to)).toBeGreaterThan(Date.parse(caughtUp.recovery_window!.from));
      // One write, far from filling its segment: a copy of the open segment holding it is on
      // both targets within seconds, and the lag is back down.
      await psql(server, "postgres", "INSERT INTO marks VALUES (-1, now())");
      // Committed: the insert position is past its commit record (a position right on a segment's start names the one before).
      const open = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_current_wal_insert_lsn() - 1)")).trim();
      // A copy holding the commit: its name says how many bytes of the segment it holds.
      const needed = Number(await psql(server, "postgres", "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")) - Number(parseSegmentName(open, SEGMENT)!.number) * SEGMENT;
      const holdsCommit = (name: string) => {
        const m = new RegExp(`^${open}\\.([0-9A-F]{8})\\.partial\\.json$`).exec(name);
        return m !== null && Number.parseInt(m[1]!, 16) >= needed;
      };
      await waitFor("a partial copy of the open segment holding the commit on both targets", async () => {
        if (!readdirSync(dir).some(holdsCommit)) return false;
        const listed = await testClient(inject("s3Port")).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `drd/cluster/wal/${open}.` }));
        return (listed.Contents ?? []).some((o) => holdsCommit(o.Key!.slice("drd/cluster/wal/".length)));
      }).catch((err: Error) => {
        throw new Error(`${err.message} (${open}); local: ${readdirSync(dir).filter((n) => n >= open.slice(0, 20)).join(" ")}; daemon log: ${daemon.log().slice(-4000)}`);
      });
      await waitFor("the lag back under 15 s", async () => (await clusterStatus()).wal_lag_seconds! < 15, 30_000);
      expect(localSegments()).not.toContain(open);
      // The restore at latest replays that copy: the row is back, though its segment never filled.
      const restored = ws.path("pitr-open");
      const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", restored, "--from", "offsite", "--check"]);
      expect([run.exitCode, run.stderr]).toEqual([0, ""]);
      expect(run.stdout).toContain(".partial");
      await execa("chmod", ["755", ws.dir]);
      expect(await query(restored, "SELECT count(*) FROM marks WHERE n = -1")).toBe("1");
      // A target that refuses what it is sent: the write after that ages, on status.
      const { renameSync, rmSync, writeFileSync } = await import("node:fs");
      renameSync(dir, `${dir}.away`);
      writeFileSync(dir, "");
      try {
        await psql(server, "postgres", "INSERT INTO marks VALUES (-2, now())");
        await new Promise((r) => setTimeout(r, 15_000));
        expect((await clusterStatus()).wal_lag_seconds!).toBeGreaterThanOrEqual(10);
      } finally {
        rmSync(dir);
        renameSync(`${dir}.away`, dir);
      }
      await waitFor("the lag back under 15 s once the target takes it", async () => (await clusterStatus()).wal_lag_seconds! < 15, 40_000);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
  }, 180_000);

  it("under pgbench the RPO stays under a minute, a daemon killed outright mid-load loses no committed transaction, and idle it falls back near 0", async () => {
    const { serverBin } = await import("../../src/demo/postgres.js");
    const pgbench = (args: string[]) => execa(join(serverBin(), "pgbench"), [...args, server.url("postgres")], { reject: false });
    const init = await pgbench(["-i", "-s", "1", "-q"]);
    expect(init.exitCode, String(init.stderr)).toBe(0);
    let daemon = ws.daemon();
    const lags: number[] = [];
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      const load = pgbench(["-c", "4", "-T", "40", "-n"]);
      const poll = setInterval(() => void clusterStatus().then((s) => s.wal_lag_seconds !== null && lags.push(s.wal_lag_seconds), () => undefined), 2_000);
      try {
        await new Promise((r) => setTimeout(r, 15_000));
        const committed = Number(await psql(server, "postgres", "SELECT count(*) FROM pgbench_history"));
        daemon.process.kill("SIGKILL");
        await daemon.process;
        await new Promise((r) => setTimeout(r, 3_000));
        daemon = ws.daemon();
        const done = await load;
        expect(done.exitCode, String(done.stderr)).toBe(0);
        await waitFor("idle: the lag back under 15 s", async () => (await clusterStatus()).wal_lag_seconds! < 15, 60_000);
        expect(lags.length).toBeGreaterThan(10);
        expect(Math.max(...lags)).toBeLessThan(60);
        const restored = ws.path("pitr-pgbench");
        const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", restored, "--check"]);
        expect([run.exitCode, run.stderr]).toEqual([0, ""]);
        await execa("chmod", ["755", ws.dir]);
        expect(Number(await query(restored, "SELECT count(*) FROM pgbench_history"))).toBeGreaterThanOrEqual(committed);
        const numbers = localSegments().map((n) => parseSegmentName(n, SEGMENT)!.number);
        for (let i = 1; i < numbers.length; i++) expect(numbers[i]! - numbers[i - 1]!).toBe(1n);
      } finally {
        clearInterval(poll);
      }
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
  }, 240_000);

  it("a server that goes away is one wal_failed alert, and its return one wal_recovered", async () => {
    const hook = await new WebhookReceiver().start();
    const config = parse(readFileSync(ws.configPath, "utf8")) as Record<string, unknown>;
    ws.writeConfig({ ...config, alerts: [{ type: "webhook", url: `http://127.0.0.1:${hook.port}/hook` }] });
    const daemon = ws.daemon();
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      await server.pause();
      await waitFor("the wal_failed alert", () => hook.events().includes("wal_failed"), 60_000);
      await server.resume();
      await waitFor("the wal_recovered alert", () => hook.events().includes("wal_recovered"), 90_000);
      expect(hook.events().filter((e) => e.startsWith("wal_"))).toEqual(["wal_failed", "wal_recovered"]);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
      await hook.stop();
      ws.writeConfig(config);
    }
  }, 180_000);

  it("a drill restores the newest moment into a scratch cluster, runs the job's checks against it, records its RTO, and removes it; a failing check fails the drill (exit 3)", async () => {
    const config = parse(readFileSync(ws.configPath, "utf8")) as { jobs: Record<string, Record<string, unknown>> };
    const withChecks = (checks: unknown[]) => ws.writeConfig({ ...config, jobs: { ...config.jobs, cluster: { ...config.jobs.cluster, drill: { checks } } } });
    const scratch = () => readdirSync(tmpdir()).filter((n) => n.startsWith(clusterScratchPrefix(ws.stateDir, "cluster")));
    withChecks([{ sql: "SELECT count(*) = 1 FROM marks WHERE n = -1" }, { command: ["sh", "-c", 'test "$(psql -XAtq "$DRD_DRILL_DATABASE_URL" -c "SELECT count(*) FROM marks WHERE n = -1")" = 1'] }]);
    try {
      const run = await ws.drctl(["drill", "cluster", "--json"]);
      expect([run.exitCode, run.stderr]).toEqual([0, ""]);
      const drill = JSON.parse(run.stdout) as { ok: boolean; from: string; rto_proven: boolean; duration_seconds: number; checks: { check: string; ok: boolean; detail: string }[] };
      expect(drill).toMatchObject({ ok: true, from: "offsite", rto_proven: true });
      // The restore to latest first (the job's checks run there), then the random moment and the restore point (cluster-drill.test.ts).
      expect(drill.checks.slice(0, 3).map((c) => [c.check.split(" ")[0], c.ok])).toEqual([["recovery", true], ["SELECT", true], ["sh", true]]);
      expect(drill.checks.every((c) => c.ok)).toBe(true);
      expect(drill.checks[0]!.detail).toMatch(/^base backup cluster-\S+ and \d+ WAL file\(s\) through [0-9A-F]{24}\S*, checked against their signed records; the cluster started and ended recovery/);
      expect(drill.duration_seconds).toBeGreaterThan(0);
      const [status] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { last_drill: { ok: boolean; duration_seconds: number } | null }[];
      expect(status!.last_drill).toMatchObject({ ok: true });
      expect(scratch()).toEqual([]);
      withChecks([{ sql: "SELECT count(*) = 0 FROM marks WHERE n = -1" }]);
      const failing = await ws.drctl(["drill", "cluster"]);
      expect(failing.exitCode).toBe(3);
      expect(failing.stderr).toContain("drill check failed: SELECT count(*) = 0 FROM marks WHERE n = -1: returned false");
      expect((await ws.drctl(["events", "--json"])).stdout).toContain('"drill_failed"');
      expect(scratch()).toEqual([]);
      expect((await execa("pgrep", ["-f", clusterScratchPrefix(ws.stateDir, "cluster")], { reject: false })).stdout).toBe("");
    } finally {
      ws.writeConfig(config);
    }
  }, 120_000);

  it("a WAL file missing from the middle, or one whose record no trusted key signed, stops the restore before PostgreSQL starts, named (exit 3)", async () => {
    const dir = join(ws.backupDir, "cluster", "wal");
    const names = localSegments();
    // One the latest restore needs: after the newest base backup began, before the end of the chain.
    const victim = names[names.length - 2]!;
    const { renameSync, writeFileSync } = await import("node:fs");
    renameSync(join(dir, `${victim}.json`), join(dir, `${victim}.json.away`));
    const missing = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", ws.path("pitr-missing")]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain(`WAL file ${victim} is not in the archive`);
    // verify finds the gap too, on that target only.
    const verify = await ws.drctl(["verify", "--job", "cluster", "--json"]);
    expect(verify.exitCode).toBe(3);
    const gaps = (JSON.parse(verify.stdout) as { backup_id: string; target: string; state: string }[]).filter((r) => r.backup_id.startsWith("cluster/wal/"));
    expect(gaps, JSON.stringify(gaps)).toEqual([{ backup_id: `cluster/wal/${victim}`, target: "local", ok: false, state: "missing", problem: `WAL file ${victim} is not on local: a restore from a base backup that began before it stops there` }]);
    renameSync(join(dir, `${victim}.json.away`), join(dir, `${victim}.json`));
    const record = readFileSync(join(dir, `${victim}.json`), "utf8");
    writeFileSync(join(dir, `${victim}.json`), record.replace(/"stored_at": "[^"]+"/, '"stored_at": "2020-01-01T00:00:00.000Z"'));
    const planted = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", ws.path("pitr-planted")]);
    expect(planted.exitCode).toBe(3);
    expect(planted.stderr).toContain(`WAL file ${victim} is refused: its record is not trusted`);
    writeFileSync(join(dir, `${victim}.json`), record);
    for (const d of ["pitr-missing", "pitr-planted"]) expect(readdirSync(ws.dir)).not.toContain(d);
  }, 60_000);

  it("prune drops a target's WAL from before its oldest kept base backup, and a restore from what is left works", async () => {
    const config = parse(readFileSync(ws.configPath, "utf8")) as { targets: Record<string, Record<string, unknown>> };
    ws.writeConfig({ ...config, targets: { ...config.targets, local: { ...config.targets.local, retention: { keep_last: 1 } } } });
    const daemon = ws.daemon();
    let kept: { id: string; start: string; finishedAt: string } | undefined;
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      await baseBackup();
      await fillSegment(10);
      await fillSegment(10);
      const id = await baseBackup();
      const manifest = JSON.parse(readFileSync(join(ws.backupDir, "cluster", id, "manifest.json"), "utf8")) as { finished_at: string; cluster: { start_lsn: string } };
      kept = { id, start: (await psql(server, "postgres", `SELECT pg_walfile_name('${manifest.cluster.start_lsn}')`)).trim(), finishedAt: manifest.finished_at };
      await psql(server, "postgres", "INSERT INTO marks VALUES (-3, now())");
      const last = await fillSegment(10);
      await onBothTargets(last);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    // With a PITR window, the window's base backups stay whatever the rules say.
    const windowed = parse(readFileSync(ws.configPath, "utf8")) as { jobs: Record<string, Record<string, unknown>> };
    ws.writeConfig({ ...windowed, jobs: { ...windowed.jobs, cluster: { ...windowed.jobs.cluster, pitr_window: "1h" } } });
    const withWindow = JSON.parse((await ws.drctl(["prune", "--dry-run", "--json"])).stdout) as { actions: { target: string; action: string; reasons: string[] }[] };
    const onLocal = withWindow.actions.filter((a) => a.target === "local");
    expect(onLocal.length, JSON.stringify(onLocal)).toBeGreaterThan(1);
    expect(onLocal.filter((a) => a.reasons.includes("within pitr_window 1h")).length, JSON.stringify(onLocal)).toBe(onLocal.length - 1);
    expect(onLocal.filter((a) => a.action !== "keep")).toEqual([]);
    expect(onLocal.filter((a) => a.reasons.includes("within pitr_window 1h")).length).toBe(onLocal.length - 1);
    ws.writeConfig(windowed);
    const offsiteBefore = (await testClient(inject("s3Port")).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "drd/cluster/wal/" }))).KeyCount;
    const dry = await ws.drctl(["prune", "--dry-run", "--json"]);
    const planned = (JSON.parse(dry.stdout) as { wal: { target: string; kept_from: string; removed: number }[] }).wal;
    expect(planned).toEqual([{ target: "local", job: "cluster", kept_from: kept!.start, removed: expect.any(Number) }]);
    expect(planned[0]!.removed).toBeGreaterThan(0);
    expect(localSegments()[0]! < kept!.start).toBe(true);
    const run = await ws.drctl(["prune"]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toContain(`WAL of cluster on local: ${planned[0]!.removed} object(s) before ${kept!.start}, where its oldest kept base backup begins, removed`);
    // Local keeps exactly the segments from the kept base backup's start on; the offsite copy (no retention) keeps all.
    expect(localSegments()[0]).toBe(kept!.start);
    expect(readdirSync(join(ws.backupDir, "cluster", "wal")).filter((n) => n.slice(0, 24) < kept!.start && /^[0-9A-F]{24}\./.test(n))).toEqual([]);
    expect((await testClient(inject("s3Port")).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "drd/cluster/wal/" }))).KeyCount).toBe(offsiteBefore);
    await execa("chmod", ["755", ws.dir]);
    const restored = ws.path("pitr-after-prune");
    const latest = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", restored, "--from", "local", "--check"]);
    expect([latest.exitCode, latest.stderr]).toEqual([0, ""]);
    expect(latest.stdout).toContain(kept!.id);
    expect(await query(restored, "SELECT count(*) FROM marks WHERE n = -3")).toBe("1");
    // And the oldest moment left on local: just after the kept base backup, before the row written after it.
    const oldest = ws.path("pitr-oldest-kept");
    const early = await ws.drctl(["restore", "cluster", "--at", new Date(Date.parse(kept!.finishedAt) + 1).toISOString(), "--to-dir", oldest, "--from", "local", "--check"]);
    expect([early.exitCode, early.stderr]).toEqual([0, ""]);
    expect(early.stdout).toContain(kept!.id);
    expect(await query(oldest, "SELECT count(*) FROM marks WHERE n = -3")).toBe("0");
    ws.writeConfig(config);
  }, 180_000);

  it("a base backup whose end is not archived yet does not hide the one before it: the RPO stays the older one's, through the same WAL", async () => {
    const before = await clusterStatus();
    const was = (JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { last_backup_id: string }[])[0]!.last_backup_id;
    expect(before.rpo_state).toBe("ok");
    // No daemon runs: the new base backup is on both targets, the WAL to its end is not.
    const fresh = await baseBackup();
    const [after] = JSON.parse((await ws.drctl(["status", "--json"])).stdout) as { rpo_state: string; last_backup_id: string }[];
    expect([after!.rpo_state, after!.last_backup_id]).toEqual(["ok", was]);
    expect(fresh).not.toBe(was);
  }, 60_000);

  it("a base backup that finds the job's slot gone (a failover, before the stream reconnected) tells wal_slot_lost itself, and makes the slot", async () => {
    await psql(server, "postgres", `SELECT pg_drop_replication_slot('${slotName("cluster")}')`);
    const id = await baseBackup();
    const events = JSON.parse((await ws.drctl(["events", "--json", "--job", "cluster"])).stdout) as { event: string; detail: string | null }[];
    expect(events.filter((e) => e.event === "wal_slot_lost").map((e) => e.detail)).toEqual([`the replication slot ${slotName("cluster")} was gone from the server (a failover or a restore promoted elsewhere?)`]);
    expect(await psql(server, "postgres", `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slotName("cluster")}'`)).toBe("1");
    // Found kept by the next backup: nothing more is told.
    expect(await baseBackup()).not.toBe(id);
    const again = JSON.parse((await ws.drctl(["events", "--json", "--job", "cluster"])).stdout) as { event: string }[];
    expect(again.filter((e) => e.event === "wal_slot_lost")).toHaveLength(1);
  }, 60_000);

  it("a disk too small for the cluster and the WAL its replay needs is told before anything is written (exit 1)", async () => {
    const mount = ws.path("small-disk");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(mount);
    await execa("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mount]);
    try {
      const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", join(mount, "data")]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^drctl: ${join(mount, "data")} has 8 MiB free; this restore needs \\d+ MiB \\(the cluster, \\d+ MiB, and \\d+ WAL files, \\d+ MiB\\)$`));
      expect(readdirSync(mount)).toEqual([]);
    } finally {
      await execa("umount", [mount]);
    }
  }, 60_000);
});
