import { chmodSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { psql } from "../helpers/postgres-cluster.js";
import { RecordingProxy } from "../helpers/recording-proxy.js";
import { createBucket, s3TargetConfig } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";
import { query } from "../helpers/restored-cluster.js";
import { baseBackup, waitFor } from "../helpers/cluster-job.js";

/**
 * The daemon replaces the open segment's partial copy every few seconds and removes the one
 * before. A restore (or a drill) that listed the archive before that finds the copy it
 * planned gone: it reads the archive again and takes what is there, instead of failing.
 * The S3 server is reached through a proxy that answers the partial copy's first download
 * with 404, as the store does once the archiver removed it.
 */
describe("a restore whose planned partial WAL copy was replaced meanwhile", () => {
  const ws = new Workspace();
  let server: Cluster;
  let proxy: RecordingProxy;
  const partialGets = () => proxy.requests.filter((r) => r.method === "GET" && /\.partial\.zst(\?|$)/.test(r.url));

  beforeAll(async () => {
    // The restored cluster runs as the postgres OS user, who must reach its directory.
    chmodSync(ws.dir, 0o711);
    server = await startCluster();
    await psql(server, "postgres", "CREATE TABLE marks (n int)");
    proxy = await new RecordingProxy(inject("s3Port")).listen();
    const bucket = await createBucket(inject("s3Port"), "partial");
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: { local: { type: "local", path: ws.backupDir }, offsite: s3TargetConfig(ws.dir, proxy.port, bucket) },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: { cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"] } },
    });
    const daemon = ws.daemon();
    try {
      await waitFor("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      await baseBackup(ws, "cluster");
      // Written after the base backup, in the open segment: only its partial copy holds it.
      await psql(server, "postgres", "INSERT INTO marks VALUES (1)");
      const lsn = (await psql(server, "postgres", "SELECT pg_current_wal_lsn()")).trim();
      await waitFor(`a partial copy past ${lsn} on offsite`, () => proxy.requests.some((r) => r.method === "PUT" && /\.partial\.zst(\?|$)/.test(r.url)), 60_000);
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
  }, 180_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    ws.remove();
  });

  it("reads the archive again and restores with what replaced it; a record gone after the listing is left out; a copy still gone on the second reading fails, named (exit 1)", async () => {
    let refused = 0;
    proxy.refuse = (method, url) => (method === "GET" && /\.partial\.zst(\?|$)/.test(url) && refused++ === 0 ? 404 : undefined);
    const before = partialGets().length;
    const to = ws.path("restored");
    const run = await ws.drctl(["restore", "cluster", "--from", "offsite", "--at", "latest", "--to-dir", to, "--check", "--allow-root", "--json"]);
    expect([run.exitCode, run.stderr]).toEqual([0, expect.any(String)]);
    // The replay reached the copy read the second time: the row written after the base backup is there.
    expect(JSON.parse(run.stdout)).toMatchObject({ wal: { last: expect.stringMatching(/\.partial$/) } });
    expect(await query(to, "SELECT count(*) FROM marks")).toBe("1");
    // Asked twice: refused once (gone), then read again after the archive was.
    expect(partialGets().length - before).toBe(2);

    // Listed, then gone before its record is read: left out, not a failure.
    proxy.refuse = (method, url) => (method === "GET" && /\.partial\.json(\?|$)/.test(url) ? 404 : undefined);
    const recordGone = await ws.drctl(["restore", "cluster", "--from", "offsite", "--at", "latest", "--to-dir", ws.path("restored-record"), "--allow-root", "--json"]);
    expect([recordGone.exitCode, recordGone.stderr]).toEqual([0, expect.any(String)]);
    expect(JSON.parse(recordGone.stdout)).toMatchObject({ wal: { last: expect.stringMatching(/^[0-9A-F]{24}$/) } });

    proxy.refuse = (method, url) => (method === "GET" && /\.partial\.zst(\?|$)/.test(url) ? 404 : undefined);
    const gone = await ws.drctl(["restore", "cluster", "--from", "offsite", "--at", "latest", "--to-dir", ws.path("restored-2"), "--allow-root"]);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toMatch(/could not reach target offsite to download \S+\.partial\.zst: .* does not exist/);
    proxy.refuse = undefined;
  }, 180_000);
});
