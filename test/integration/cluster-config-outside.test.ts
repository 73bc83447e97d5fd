import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { psql } from "../helpers/postgres-cluster.js";
import { writeLocalAndS3Config } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";

/** Debian keeps a cluster's postgresql.conf and pg_hba.conf in /etc/postgresql: a base backup has neither. */
describe("a cluster whose configuration lives outside its data directory", () => {
  const ws = new Workspace();
  let server: Cluster;

  beforeAll(async () => {
    server = await startCluster(undefined, { configOutside: true });
    await psql(server, "postgres", "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)");
    await writeLocalAndS3Config(ws, inject("s3Port"), "confout", {
      cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"] },
    });
  });
  afterAll(async () => {
    await server.stop();
    ws.remove();
  });

  it("restores into a data directory that starts: drd writes a minimal configuration, local connections only, and says so in it", async () => {
    expect(existsSync(join(server.dataDir, "postgresql.conf"))).toBe(false);
    const daemon = ws.daemon();
    try {
      const wal = join(ws.backupDir, "cluster", "wal");
      const archived = () => (existsSync(wal) ? readdirSync(wal).filter((n) => /^[0-9A-F]{24}\.json$/.test(n)) : []);
      for (let i = 0; i < 240 && !daemon.log().includes("receiving WAL"); i++) await new Promise((r) => setTimeout(r, 250));
      let backup = await ws.drctl(["backup", "cluster"]);
      for (let i = 0; i < 120 && backup.exitCode !== 0 && `${backup.stderr}`.includes("already running"); i++) {
        await new Promise((r) => setTimeout(r, 500));
        backup = await ws.drctl(["backup", "cluster"]);
      }
      expect([backup.exitCode, backup.stderr]).toEqual([0, ""]);
      const closed = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
      for (let i = 0; i < 240 && !archived().includes(`${closed}.json`); i++) await new Promise((r) => setTimeout(r, 250));
      expect(archived()).toContain(`${closed}.json`);
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    // PostgreSQL runs as the data directory's owner, who must reach it.
    const { chmodSync } = await import("node:fs");
    chmodSync(ws.dir, 0o755);
    const to = ws.path("restored");
    const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", to, "--check"]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(/^checked: the restored cluster started and accepted connections/m);
    expect(readFileSync(join(to, "postgresql.conf"), "utf8")).toMatch(/^# Written by drctl restore: the backed-up cluster kept its configuration outside/);
    expect(readFileSync(join(to, "pg_hba.conf"), "utf8")).toContain("local all all peer");
    expect(existsSync(join(to, "pg_ident.conf"))).toBe(true);
  }, 120_000);
});
