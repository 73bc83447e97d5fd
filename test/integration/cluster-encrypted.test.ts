import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { walRecordSchema } from "../../src/wal/layout.js";
import { GpgHome } from "../helpers/gpg.js";
import { psql } from "../helpers/postgres-cluster.js";
import { writeLocalAndS3Config } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";

/**
 * A cluster job encrypted to a public key whose private half is passphrase-protected and
 * kept off the server: its base backup and every WAL file are OpenPGP messages GnuPG opens,
 * and a restore with the key and its passphrase brings the cluster back. A stored WAL file
 * whose bytes changed stops the restore, named (exit 3).
 */
describe("an encrypted cluster job", () => {
  const ws = new Workspace();
  let server: Cluster;
  let gpg: GpgHome;
  const wal = () => join(ws.backupDir, "cluster", "wal");
  const records = () => (existsSync(wal()) ? readdirSync(wal()).filter((n) => /^[0-9A-F]{24}\.json$/.test(n)).map((n) => n.slice(0, 24)) : []);
  const until = async (what: string, test: () => boolean) => {
    for (let i = 0; i < 240 && !test(); i++) await new Promise((r) => setTimeout(r, 250));
    if (!test()) throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    gpg = new GpgHome();
    await gpg.gpg(["--passphrase", "off-the-server", "--quick-gen-key", "restorer <r@example.invalid>", "future-default", "default", "never"]);
    writeFileSync(ws.path("public.asc"), (await gpg.gpg(["--armor", "--export", "r@example.invalid"])).stdout);
    writeFileSync(ws.path("secret.asc"), (await gpg.gpg(["--armor", "--passphrase", "off-the-server", "--export-secret-keys", "r@example.invalid"])).stdout, { mode: 0o600 });
    writeFileSync(ws.path("secret.pass"), "off-the-server\n", { mode: 0o600 });
    server = await startCluster();
    await psql(server, "postgres", "CREATE TABLE secrets (n int); INSERT INTO secrets SELECT generate_series(1, 100)");
    await writeLocalAndS3Config(ws, inject("s3Port"), "encrypted-cluster", {
      cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"], encrypt: { recipients: [ws.path("public.asc")] } },
    });
  });
  afterAll(async () => {
    await server.stop();
    await gpg?.remove();
    ws.remove();
  });

  it("stores the base backup and each WAL file as OpenPGP messages gpg opens, and restores with the protected key and its passphrase", async () => {
    const daemon = ws.daemon();
    let closed = "";
    try {
      await until("the daemon receiving", () => daemon.log().includes("receiving WAL"));
      let backup = await ws.drctl(["backup", "cluster"]);
      for (let i = 0; i < 120 && backup.exitCode !== 0 && `${backup.stderr}`.includes("already running"); i++) {
        await new Promise((r) => setTimeout(r, 500));
        backup = await ws.drctl(["backup", "cluster"]);
      }
      expect([backup.exitCode, backup.stderr]).toEqual([0, ""]);
      await psql(server, "postgres", "INSERT INTO secrets VALUES (-1)");
      closed = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
      await until(`segment ${closed}`, () => records().includes(closed));
    } finally {
      daemon.process.kill("SIGTERM");
      await daemon.process;
    }
    // Stock tools open a WAL file: gpg, then zstd, gives the segment the record describes.
    const record = walRecordSchema.parse(JSON.parse(readFileSync(join(wal(), `${closed}.json`), "utf8")));
    expect(record).toMatchObject({ encryption: "public-key", object: { name: `${closed}.zst.gpg` } });
    await gpg.decrypt(join(wal(), record.object.name), ws.path("segment.zst"), "off-the-server");
    const segment = (await execa("zstd", ["-dc", ws.path("segment.zst")], { encoding: "buffer" })).stdout;
    expect([segment.length, createHash("sha256").update(segment).digest("hex")]).toEqual([record.content.size, record.content.sha256]);

    chmodSync(ws.dir, 0o755);
    const to = ws.path("restored");
    const noPass = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", ws.path("no-pass"), "--key", ws.path("secret.asc")]);
    expect(noPass.exitCode).toBe(2);
    const run = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", to, "--from", "offsite", "--key", ws.path("secret.asc"), "--passphrase-file", ws.path("secret.pass"), "--check"]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(/^checked: the restored cluster started and accepted connections/m);

    // A stored WAL file whose bytes changed: named, exit 3, nothing left behind.
    const object = join(wal(), record.object.name);
    const bytes = readFileSync(object);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(object, bytes);
    const damaged = await ws.drctl(["restore", "cluster", "--at", "latest", "--to-dir", ws.path("damaged"), "--key", ws.path("secret.asc"), "--passphrase-file", ws.path("secret.pass")]);
    expect(damaged.exitCode).toBe(3);
    expect(damaged.stderr).toContain(record.object.name);
    expect(existsSync(ws.path("damaged"))).toBe(false);
  }, 180_000);
});
