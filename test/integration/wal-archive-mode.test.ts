import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { slotName } from "../../src/wal/layout.js";
import { psql } from "../helpers/postgres-cluster.js";
import { query } from "../helpers/restored-cluster.js";
import { testClient, writeLocalAndS3Config } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { baseBackup as baseBackupOf, s3RecordWhole, waitFor } from "../helpers/cluster-job.js";

const REPO = resolve(import.meta.dirname, "../..");

/**
 * Archive mode: the server's archive_command, running as the postgres OS user, hands each
 * WAL file to the daemon's socket with `drctl wal push`, and succeeds only once the file is
 * on the job's first target.
 */
describe("archive mode of a cluster job", () => {
  const ws = new Workspace();
  let server: Cluster;
  let bucket = "";
  const socket = () => join(ws.dir, "run", "wal", "cluster.sock");

  const localSegments = () =>
    readdirSync(join(ws.backupDir, "cluster", "wal"))
      // Stored once its record is there: the record is written last.
      .filter((n) => /^[0-9A-F]{24}\.json$/.test(n))
      .map((n) => n.slice(0, 24))
      .sort();
  const onS3 = (segment: string) => s3RecordWhole(inject("s3Port"), bucket, "cluster", segment);
  const switchWal = async (rows: number) => {
    await psql(server, "postgres", `INSERT INTO marks SELECT g, now() FROM generate_series(1, ${rows}) g`);
    return (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
  };
  const archiver = async () => {
    const [archived, failed, lastFailed] = (await psql(server, "postgres", "SELECT archived_count, failed_count, coalesce(last_failed_wal, '') FROM pg_stat_archiver")).split("|");
    return { archived: Number(archived), failed: Number(failed), lastFailed };
  };
  const baseBackup = () => baseBackupOf(ws, "cluster");

  beforeAll(async () => {
    server = await startCluster();
    await psql(server, "postgres", "CREATE TABLE marks (n int, at timestamptz)");
    await psql(server, "postgres", "CREATE TABLE markers (name text, at timestamptz default clock_timestamp())");
    // The socket's directory belongs to the server's group, setgid, so the socket takes that group (install.sh does the same for /run/drd/wal).
    chmodSync(ws.dir, 0o755);
    mkdirSync(join(ws.dir, "run", "wal"), { recursive: true });
    const gid = Number((await execa("id", ["-g", "postgres"])).stdout);
    chownSync(join(ws.dir, "run", "wal"), 0, gid);
    chmodSync(join(ws.dir, "run"), 0o755);
    chmodSync(join(ws.dir, "run", "wal"), 0o2750);
    bucket = await writeLocalAndS3Config(ws, inject("s3Port"), "walarchive", {
      cluster: { type: "postgres_cluster", connection: server.url("postgres"), wal: { mode: "archive", socket: socket() }, schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"] },
    });
    // No autovacuum: a test below needs a server where no transaction ends after a moment.
    await psql(server, "postgres", "ALTER SYSTEM SET autovacuum = off");
    await psql(server, "postgres", "ALTER SYSTEM SET archive_mode = on");
    await psql(server, "postgres", `ALTER SYSTEM SET archive_command = '${process.execPath} ${REPO}/bin/drctl.js wal push cluster %p --socket ${socket()}'`);
    await server.pause();
    await server.resume();
  });
  afterAll(async () => {
    await server.stop();
    ws.remove();
  });

  it("archive_command, as the postgres user, stores each WAL file on the first target before it succeeds; the rest follow; a restore to a moment has the row before it and not the one after", async () => {
    const daemon = ws.daemon();
    const log = () => daemon.log().slice(-3000);
    let before = "";
    let last = "";
    try {
      await waitFor("the daemon's socket", () => daemon.log().includes("receiving WAL from archive_command"), 30_000, log);
      // No slot in archive mode: a slot nobody reads would keep every WAL file on the server.
      expect(await psql(server, "postgres", `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slotName("cluster")}'`)).toBe("0");
      await baseBackup();
      await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('before')");
      before = (await psql(server, "postgres", "SELECT to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM markers")).trim();
      await new Promise((r) => setTimeout(r, 1100));
      await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('after')");
      last = await switchWal(10);
      await waitFor(`${last} archived by the server`, async () => (await psql(server, "postgres", "SELECT last_archived_wal FROM pg_stat_archiver")).trim() >= last, 60_000, log);
      // The server counts it archived only once it is on the first target (local).
      expect(localSegments()).toContain(last);
      await waitFor(`${last} on S3`, () => onS3(last), 30_000, log);
      await waitFor("an empty spool", () => !readdirSync(join(ws.stateDir, "wal", "cluster")).some((n) => /^[0-9A-F]{24}$/.test(n)), 30_000, log);
      expect((await archiver()).failed).toBe(0);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    // The base backup's .backup label was acknowledged (not kept): the server's archiving went on past it.
    expect(readdirSync(join(server.dataDir, "pg_wal", "archive_status")).filter((n) => n.endsWith(".backup.done"))).toHaveLength(1);
    for (const from of ["local", "offsite"]) {
      const dir = ws.path(`pitr-${from}`);
      const run = await ws.drctl(["restore", "cluster", "--at", new Date(Date.parse(before) + 500).toISOString(), "--to-dir", dir, "--from", from]);
      expect([run.exitCode, run.stderr]).toEqual([0, ""]);
      expect([from, await query(dir, "SELECT string_agg(name, ',' ORDER BY at) FROM markers")]).toEqual([from, "before"]);
    }
    const latest = ws.path("pitr-latest");
    const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", latest]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    expect(await query(latest, "SELECT string_agg(name, ',' ORDER BY at) FROM markers")).toBe("before,after");
  }, 240_000);

  it("while the daemon is down archive_command fails and the server keeps its WAL; once it is back nothing is lost, and the failure was told", async () => {
    const failedBefore = (await archiver()).failed;
    const during = [await switchWal(100), await switchWal(100), await switchWal(100)];
    await waitFor("archive_command failing", async () => (await archiver()).failed > failedBefore, 30_000);
    // The server keeps what it could not archive.
    const ready = readdirSync(join(server.dataDir, "pg_wal", "archive_status")).filter((n) => n.endsWith(".ready"));
    expect(ready).toEqual(expect.arrayContaining(during.map((n) => `${n}.ready`)));
    const daemon = ws.daemon();
    try {
      // PostgreSQL tries a failed file again within a minute.
      for (const name of during) await waitFor(`${name} after the daemon's return`, () => localSegments().includes(name), 120_000, () => daemon.log().slice(-2000));
      await waitFor("the last on S3", () => onS3(during.at(-1)!), 30_000);
      const events = JSON.parse((await ws.drctl(["events", "--json", "--job", "cluster"])).stdout) as { event: string; detail: string | null }[];
      expect(events.find((e) => e.event === "wal_failed")?.detail).toMatch(/archive_command failed for [0-9A-F]{24}/);
      await waitFor("wal_recovered", async () => (JSON.parse((await ws.drctl(["events", "--json", "--job", "cluster"])).stdout) as { event: string }[]).some((e) => e.event === "wal_recovered"), 60_000);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    const names = localSegments();
    const numbers = names.map((n) => Number.parseInt(n.slice(16), 16));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]! - numbers[i - 1]!, `${names[i - 1]} then ${names[i]}`).toBe(1);
    const dir = ws.path("after-outage");
    const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", dir]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    expect(Number(await query(dir, "SELECT count(*) FROM marks"))).toBe(Number(await psql(server, "postgres", "SELECT count(*) FROM marks")));
  }, 300_000);

  it("a file of another cluster, or renamed, is refused with the reason, and nothing of it is stored", async () => {
    const daemon = ws.daemon();
    try {
      await waitFor("the daemon's socket", () => daemon.log().includes("receiving WAL from archive_command"), 30_000);
      const segment = localSegments().at(-1)!;
      const raw = await execa("zstd", ["-dc", join(ws.backupDir, "cluster", "wal", `${segment}.zst`)], { encoding: "buffer" });
      const other = Buffer.from(raw.stdout);
      other.writeBigUInt64LE(12345n, 24);
      const next = `${segment.slice(0, 16)}${(Number.parseInt(segment.slice(16), 16) + 50).toString(16).toUpperCase().padStart(8, "0")}`;
      const foreign = join(ws.dir, next);
      writeFileSync(foreign, other);
      const push = (file: string) => execa(process.execPath, [join(REPO, "bin/drctl.js"), "wal", "push", "cluster", file, "--socket", socket()], { reject: false });
      const a = await push(foreign);
      expect([a.exitCode, a.stderr]).toEqual([1, expect.stringMatching(/^drctl: wal push cluster: .*is from another cluster \(system identifier 12345, not \d+\)$/)]);
      writeFileSync(foreign, raw.stdout);
      const b = await push(foreign);
      expect([b.exitCode, b.stderr]).toEqual([1, expect.stringMatching(/holds timeline 1 at [0-9A-F]+, not what its name says$/)]);
      expect(localSegments()).not.toContain(next);
      // The same file handed over again (a server that crashed before it saw the "ok") is fine.
      const again = join(ws.dir, segment);
      writeFileSync(again, raw.stdout);
      const c = await push(again);
      expect([c.exitCode, c.stderr]).toEqual([0, ""]);
      // A daemon that is not there: a clear line, exit 1, so PostgreSQL tries again later.
      const d = await execa(process.execPath, [join(REPO, "bin/drctl.js"), "wal", "push", "cluster", again, "--socket", join(ws.dir, "nowhere.sock")], { reject: false });
      expect([d.exitCode, d.stderr]).toEqual([1, expect.stringMatching(/^drctl: wal push cluster: cannot hand [0-9A-F]{24} to drd at .*nowhere\.sock: .*is drd running, with this job in archive mode\?$/)]);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
  }, 120_000);

  it("drctl wal setup checks archive mode's settings, and --apply puts drd's archive_command in place of another", async () => {
    const good = await ws.drctl(["wal", "setup", "cluster", "--json"]);
    const report = JSON.parse(good.stdout) as { mode: string; ok: boolean; checks: { check: string; ok: boolean; required: boolean }[] };
    expect([good.exitCode, report.mode, report.ok]).toEqual([0, "archive", true]);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["a quiet server's writes are archived within a bound"]);
    const original = (await psql(server, "postgres", "SHOW archive_command")).trim();
    await psql(server, "postgres", "ALTER SYSTEM SET archive_command = 'cp %p /nowhere/%f'");
    await psql(server, "postgres", "SELECT pg_reload_conf()");
    try {
      await waitFor("the reload", async () => (await psql(server, "postgres", "SHOW archive_command")).trim() === "cp %p /nowhere/%f", 10_000);
      const bad = await ws.drctl(["wal", "setup", "cluster"]);
      expect(bad.exitCode).toBe(1);
      expect(bad.stdout).toContain(`ALTER SYSTEM SET archive_command = 'drctl wal push cluster %p --socket ${socket()}'`);
      const applied = await ws.drctl(["wal", "setup", "cluster", "--apply"]);
      expect([applied.exitCode, applied.stderr]).toEqual([0, ""]);
      expect((await psql(server, "postgres", "SHOW archive_command")).trim()).toBe(`drctl wal push cluster %p --socket ${socket()}`);
    } finally {
      await psql(server, "postgres", `ALTER SYSTEM SET archive_command = '${original}'`);
      await psql(server, "postgres", "SELECT pg_reload_conf()");
    }
  }, 60_000);

  it("a moment after the server's last transaction restores to the archive's end, which is the state then (PostgreSQL refuses a time it never sees passed)", async () => {
    const daemon = ws.daemon();
    try {
      await waitFor("the daemon's socket", () => daemon.log().includes("receiving WAL from archive_command"), 30_000);
      await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('quiet')");
      await new Promise((r) => setTimeout(r, 1100));
      const t = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 1100));
      const closed = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
      await waitFor(`${closed} archived`, () => localSegments().includes(closed), 60_000);
      const dir = ws.path("quiet");
      const run = await ws.drctl(["restore", "cluster", "--at", t, "--to-dir", dir, "--check"]);
      expect([run.exitCode, run.stderr]).toEqual([0, ""]);
      expect(readFileSync(join(dir, "postgresql.auto.conf"), "utf8")).toContain(`# No transaction in the archive ended after ${t}: its end is the state then.`);
      expect(await query(dir, "SELECT count(*) FROM markers WHERE name = 'quiet'")).toBe("1");
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
  }, 120_000);
});
