import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, serverBin, startCluster, stopServer, type Cluster } from "../../src/demo/postgres.js";
import { psql } from "../helpers/postgres-cluster.js";
import { WebhookReceiver } from "../helpers/receivers.js";
import { writeLocalAndS3Config } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";
import { baseBackup as baseBackupOf, waitFor as waitForOf } from "../helpers/cluster-job.js";

/**
 * A failover of a cluster job's server: production on timeline 1 is lost, the newest moment
 * is restored and started as the new production on the same address (timeline 2). The
 * daemon notices the slot is gone, tells it, makes it again and takes a new base backup;
 * restores follow the timelines, and a named restore point is a target.
 */
describe("timelines of a cluster job", () => {
  const ws = new Workspace();
  const hook = new WebhookReceiver();
  let server: Cluster;
  /** The new production after the failover, on the old one's port and socket. */
  let promoted = "";
  let daemon: ReturnType<Workspace["daemon"]> | undefined;
  let firstBase = "";
  let secondBase = "";

  const asPostgres = (args: string[]) => execa("runuser", ["-u", "postgres", "--", ...args]);
  const walDir = () => join(ws.backupDir, "cluster", "wal");
  const archived = (name: string) => existsSync(join(walDir(), `${name}.json`));
  /** Closes the current segment once the write is in it, and waits until the local target holds it. */
  const switchAndArchive = async () => {
    const closed = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
    await waitFor(`segment ${closed} archived`, () => archived(closed));
    return closed;
  };
  /** Failovers and restarts take longer than most waits: two minutes by default. */
  const waitFor = (what: string, test: () => boolean | Promise<boolean>, ms = 120_000) => waitForOf(what, test, ms);
  const baseBackup = () => baseBackupOf(ws, "cluster");
  /** The rows of a restored data directory that --check left recovered and promoted. */
  const rowsOf = async (dir: string) => {
    const port = await freePort();
    await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-w", "-t", "120", "-l", join(dir, "test-start.log"), "-o", `-p ${port} -c listen_addresses='' -k ${dir}`, "start"]);
    try {
      return (await execa("psql", ["-XAtq", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", "SELECT string_agg(name, ',' ORDER BY n) FROM rows"])).stdout;
    } finally {
      await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-m", "fast", "-w", "stop"]);
    }
  };
  const restore = async (name: string, args: string[]) => {
    const dir = ws.path(name);
    const run = await ws.drctl(["restore", "cluster", "--to-dir", dir, ...args]);
    return { dir, run };
  };

  beforeAll(async () => {
    server = await startCluster();
    await hook.start();
    await psql(server, "postgres", "CREATE TABLE rows (n int, name text)");
    await writeLocalAndS3Config(ws, inject("s3Port"), "timeline", {
      cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"] },
    });
    const config = parse(readFileSync(ws.configPath, "utf8")) as Record<string, unknown>;
    ws.writeConfig({ ...config, alerts: [{ type: "webhook", url: `http://127.0.0.1:${hook.port}/hook` }] });
    // Restored data directories lie below the workspace: the postgres user must traverse it.
    await execa("chmod", ["755", ws.dir]);
  });
  afterAll(async () => {
    if (daemon) {
      daemon.process.kill("SIGTERM");
      await daemon.process.catch(() => undefined);
    }
    if (promoted) await stopServer(promoted);
    await server.stop();
    await hook.stop();
    ws.remove();
  });

  it("after a failover to a restored copy (timeline 2) the daemon alerts wal_slot_lost, makes the slot again, takes a new base backup, and archives timeline 2", async () => {
    daemon = ws.daemon();
    await waitFor("the daemon receiving", () => daemon!.log().includes("receiving WAL"));
    firstBase = await baseBackup();
    await psql(server, "postgres", "INSERT INTO rows VALUES (1, 'tl1-a'), (2, 'tl1-b')");
    await switchAndArchive();

    // Production is lost; the newest moment is restored and becomes production on its address.
    await server.pause();
    const failover = await restore("new-production", ["--at", "latest"]);
    expect([failover.run.exitCode, failover.run.stderr]).toEqual([0, ""]);
    expect(failover.run.stdout).toContain("replaying along timeline 1 to latest");
    promoted = failover.dir;
    await asPostgres([
      join(serverBin(), "pg_ctl"), "-D", promoted, "-w", "-t", "120", "-l", join(promoted, "server.log"),
      "-o", `-p ${server.port} -k ${server.socketDir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start",
    ]);
    await waitFor("the new production promoted", async () => (await psql(server, "postgres", "SELECT pg_is_in_recovery()")) === "f");
    expect(await psql(server, "postgres", "SELECT timeline_id FROM pg_control_checkpoint()")).toBe("2");
    expect(await psql(server, "postgres", "SELECT string_agg(name, ',' ORDER BY n) FROM rows")).toBe("tl1-a,tl1-b");

    // The daemon finds its slot gone: told, made again, a new base backup taken at once.
    await waitFor("the wal_slot_lost alert", () => hook.events().includes("wal_slot_lost"));
    expect(hook.received.find((r) => r.json.event === "wal_slot_lost")!.json).toMatchObject({ job: "cluster", severity: "critical" });
    await waitFor("the slot made again", async () => (await psql(server, "postgres", "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'drd_cluster_%'")) === "1");
    await waitFor("the base backup after the slot loss", () => daemon!.log().split("\n").some((l) => l.includes('"reason":"wal_slot_lost"') && l.includes("backup done")));
    secondBase = (JSON.parse(daemon.log().split("\n").find((l) => l.includes('"reason":"wal_slot_lost"') && l.includes("backup done"))!) as { backup: string }).backup;
    expect(secondBase).not.toBe(firstBase);
    const events = JSON.parse((await ws.drctl(["events", "--json"])).stdout) as { event: string; job: string | null; detail: string | null }[];
    expect(events.filter((e) => e.event === "wal_slot_lost")).toEqual([expect.objectContaining({ job: "cluster", detail: expect.stringContaining("was gone from the server") })]);
    const manifest = JSON.parse(readFileSync(join(ws.backupDir, "cluster", secondBase, "manifest.json"), "utf8")) as { cluster: { timeline: number } };
    expect(manifest.cluster.timeline).toBe(2);

    await psql(server, "postgres", "INSERT INTO rows VALUES (3, 'tl2-a'), (4, 'tl2-b')");
    const closed = await switchAndArchive();
    expect(closed.startsWith("00000002")).toBe(true);
    expect(archived("00000002.history")).toBe(true);
    // The old timeline's last segment, which pg_receivewal leaves as .partial for good, left the spool.
    await waitFor("no timeline-1 .partial in the spool", () => !readdirSync(join(ws.stateDir, "wal", "cluster")).some((n) => n.startsWith("00000001") && n.endsWith(".partial")), 30_000);
    expect(hook.events().filter((e) => e === "wal_slot_lost")).toHaveLength(1);
  }, 300_000);

  it("a restore at latest follows timeline 2; one from the old base backup follows 1 > 2 through the history file; --timeline 1 stops before the switch; an absent timeline is exit 2", async () => {
    const latest = await restore("latest", ["--at", "latest", "--check"]);
    expect([latest.run.exitCode, latest.run.stderr]).toEqual([0, ""]);
    expect(latest.run.stdout).toContain(`base backup ${secondBase}`);
    expect(await rowsOf(latest.dir)).toBe("tl1-a,tl1-b,tl2-a,tl2-b");

    // Without the new base backup on the target, the old one replays along 1 > 2.
    const away = ws.path("second-base-away");
    renameSync(join(ws.backupDir, "cluster", secondBase), away);
    try {
      const along = await restore("along-history", ["--from", "local", "--timeline", "2", "--at", "latest", "--check", "--json"]);
      expect([along.run.exitCode, along.run.stderr]).toEqual([0, ""]);
      expect(JSON.parse(along.run.stdout)).toMatchObject({ backup_id: firstBase, timelines: [1, 2], target: "latest" });
      expect(readdirSync(join(along.dir, "pg_wal"))).toContain("00000002.history");
      expect(await rowsOf(along.dir)).toBe("tl1-a,tl1-b,tl2-a,tl2-b");
    } finally {
      renameSync(away, join(ws.backupDir, "cluster", secondBase));
    }

    const one = await restore("timeline-1", ["--timeline", "1", "--at", "latest", "--check", "--json"]);
    expect([one.run.exitCode, one.run.stderr]).toEqual([0, ""]);
    expect(JSON.parse(one.run.stdout)).toMatchObject({ backup_id: firstBase, timelines: [1] });
    expect(await rowsOf(one.dir)).toBe("tl1-a,tl1-b");
    // It promoted to a timeline the archive does not have yet (3), not to a second timeline 2.
    expect(readFileSync(join(one.dir, "drd-check.log"), "utf8")).toMatch(/selected new timeline ID: 3/);

    const absent = await restore("timeline-7", ["--timeline", "7", "--at", "latest"]);
    expect(absent.run.exitCode).toBe(2);
    expect(absent.run.stderr).toBe("drctl: --timeline 7: no base backup of cluster on local replays along it (timeline 7 has no history file in the archive); its timelines: 1, 2");
    const bad = await restore("timeline-x", ["--timeline", "0x2"]);
    expect([bad.run.exitCode, bad.run.stderr]).toEqual([2, 'drctl: --timeline: give a timeline id in decimal (1, 2, ...) or latest, not "0x2"']);
    for (const d of ["timeline-7", "timeline-x"]) expect(existsSync(ws.path(d))).toBe(false);
  }, 300_000);

  it("a named restore point is a target: the row before it comes back, the one after does not; an unknown name is exit 2 and leaves nothing", async () => {
    await psql(server, "postgres", "INSERT INTO rows VALUES (5, 'before-point')");
    await psql(server, "postgres", "SELECT pg_create_restore_point('before_x')");
    await psql(server, "postgres", "INSERT INTO rows VALUES (6, 'after-point')");
    await switchAndArchive();
    const named = await restore("named", ["--at", "before_x", "--check", "--json"]);
    expect([named.run.exitCode, named.run.stderr]).toEqual([0, ""]);
    expect(JSON.parse(named.run.stdout)).toMatchObject({ target: "restore point before_x", timelines: [2] });
    expect(readFileSync(join(named.dir, "postgresql.auto.conf"), "utf8")).toMatch(/^recovery_target_name = 'before_x'$/m);
    expect(await rowsOf(named.dir)).toBe("tl1-a,tl1-b,tl2-a,tl2-b,before-point");

    const unknown = await restore("unknown-point", ["--at", "no_such_point"]);
    expect(unknown.run.exitCode).toBe(2);
    expect(unknown.run.stderr).toMatch(new RegExp(`^drctl: restore point no_such_point is not in the WAL of cluster after base backup ${secondBase} \\(consistent at LSN [0-9A-F]+/[0-9A-F]+, through [0-9A-F]{24}\\S*\\)$`));
    expect(existsSync(unknown.dir)).toBe(false);
  }, 300_000);

  it("another cluster on the job's connection is one wal_cluster_changed alert, and none of its WAL is archived into the job's chain", async () => {
    await asPostgres([join(serverBin(), "pg_ctl"), "-D", promoted, "-m", "fast", "-w", "stop"]);
    const other = ws.path("other-cluster");
    mkdirSync(other, { mode: 0o700 });
    await execa("chown", ["postgres:postgres", other]);
    await asPostgres([join(serverBin(), "initdb"), "-D", other, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
    copyFileSync(join(promoted, "pg_hba.conf"), join(other, "pg_hba.conf"));
    await asPostgres([join(serverBin(), "pg_ctl"), "-D", other, "-w", "-t", "120", "-l", join(other, "server.log"), "-o", `-p ${server.port} -k ${server.socketDir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"]);
    try {
      const otherId = await psql(server, "postgres", "SELECT system_identifier FROM pg_control_system()");
      await waitFor("the wal_cluster_changed alert", () => hook.events().includes("wal_cluster_changed"));
      const alert = hook.received.find((r) => r.json.event === "wal_cluster_changed")!.json as unknown as { job: string; message: string };
      expect(alert.job).toBe("cluster");
      expect(alert.message).toContain(`another cluster (system identifier ${otherId}, not `);
      await psql(server, "postgres", "CREATE TABLE other (n int); INSERT INTO other VALUES (1)");
      await psql(server, "postgres", "SELECT pg_switch_wal()");
      // Several of the stream's attempts: none receives or archives anything of it, and it is told once.
      await new Promise((r) => setTimeout(r, 8_000));
      const ids = readdirSync(walDir())
        .filter((n) => n.endsWith(".json"))
        .map((n) => (JSON.parse(readFileSync(join(walDir(), n), "utf8")) as { system_identifier: string }).system_identifier);
      expect(ids).not.toContain(otherId);
      expect(hook.events().filter((e) => e === "wal_cluster_changed")).toHaveLength(1);
      // Nothing of it (timeline 1, a fresh cluster's) reached the spool either: pg_receivewal never ran against it.
      expect(readdirSync(join(ws.stateDir, "wal", "cluster")).filter((n) => n.startsWith("00000001"))).toEqual([]);
    } finally {
      await asPostgres([join(serverBin(), "pg_ctl"), "-D", other, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    }
  }, 180_000);
});
