import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCluster, type Cluster } from "../../src/demo/postgres.js";
import { parseSegmentName } from "../../src/policy/wal.js";
import { slotName, walRecordSchema } from "../../src/wal/layout.js";
import { psql } from "../helpers/postgres-cluster.js";
import { testClient, writeLocalAndS3Config } from "../helpers/s3.js";
import { signingKeyFiles } from "../helpers/signing.js";
import { Workspace } from "../helpers/workspace.js";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";

const SEGMENT = 16 << 20;

/** The daemon streams a cluster's WAL: pg_receivewal with a slot, each completed segment stored on every target, signed. */
describe("WAL streaming of a cluster job", () => {
  const ws = new Workspace();
  let server: Cluster;
  let bucket = "";

  const localSegments = () =>
    (readdirSync(join(ws.backupDir, "cluster", "wal"), { withFileTypes: true }) as { name: string }[])
      .map((e) => e.name)
      .filter((n) => /^[0-9A-F]{24}\.zst$/.test(n))
      .map((n) => n.slice(0, 24))
      .sort();
  const waitFor = async (what: string, test: () => boolean | Promise<boolean>, ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        if (await test()) return;
      } catch {
        // not there yet
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  /** Writes, then closes the current segment: the name of the segment just closed. */
  const fillSegment = async (rows: number) => {
    await psql(server, "postgres", `INSERT INTO marks SELECT g, now() FROM generate_series(1, ${rows}) g`);
    return (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
  };

  beforeAll(async () => {
    server = await startCluster();
    await psql(server, "postgres", "CREATE TABLE marks (n int, at timestamptz)");
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
      await waitFor(`segment ${closed} on the local target`, () => localSegments().includes(closed));
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
});
