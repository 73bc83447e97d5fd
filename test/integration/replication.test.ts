import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { CutProxy } from "../helpers/cut-proxy.js";
import { createBucket, s3TargetConfig } from "../helpers/s3.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

const MiB = 1024 * 1024;

describe("every backup on local disk and S3, with 3-2-1 accounting", () => {
  const ws = new Workspace();
  let proxy: CutProxy;

  beforeAll(async () => {
    const s3Port = inject("s3Port");
    proxy = await new CutProxy(s3Port).listen();
    const bucket = await createBucket(s3Port, "repl");
    mkdirSync(ws.path("big"), { recursive: true });
    // Random bytes do not compress: the artifact is a 70 MiB multipart upload.
    writeFileSync(ws.path("big", "blob.bin"), randomBytes(70 * MiB));
    mkdirSync(ws.path("certs"), { recursive: true });
    writeFileSync(ws.path("certs", "server.key"), "-----BEGIN PRIVATE KEY-----\nxyz\n");
    writeFileSync(ws.path("pass"), "passphrase for the test\n", { mode: 0o600 });
    await freshDatabase(cluster, "repl_db", "CREATE TABLE hosts AS SELECT g AS id FROM generate_series(1, 1000) g");
    const both = { schedule: "0 * * * *", rpo: "1h", targets: ["local", "offsite"] };
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: {
        local: { type: "local", path: ws.backupDir },
        offsite: s3TargetConfig(ws.dir, proxy.port, bucket, {
          object_lock: { mode: "GOVERNANCE", days: 30 },
          server_side_encryption: { algorithm: "AES256" },
          storage_class: "STANDARD_IA",
        }),
      },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: {
        database: { type: "postgres", connection: pgUrl("repl_db"), globals: false, ...both },
        config: { type: "files", paths: [ws.path("big")], ...both },
        certificates: { type: "files", paths: [ws.path("certs")], encrypt: { passphrase_file: ws.path("pass") }, ...both },
      },
    });
  });
  afterAll(async () => {
    await proxy.cut();
    ws.remove();
  });

  const list = async (job: string) => JSON.parse((await ws.drctl(["list", job, "--json"])).stdout);

  it.each(["database", "certificates"])("a %s backup ends verified on local and s3, policy_ok", async (job) => {
    const run = await ws.drctl(["backup", job, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const [backup] = await list(job);
    expect(backup.policy_ok).toBe(true);
    expect(backup.copies.map((c: { target: string; state: string }) => `${c.target}:${c.state}`)).toEqual(["local:verified", "offsite:verified"]);
    expect(backup.copies[1].location).toMatch(new RegExp(`^s3://drd-repl-\\d+-\\d+/drd/${job}/${backup.id}$`));
  });

  it("sends the Object Lock, server-side encryption and storage class headers", () => {
    expect(proxy.sent).toMatch(/x-amz-object-lock-mode: GOVERNANCE/i);
    expect(proxy.sent).toMatch(/x-amz-object-lock-retain-until-date: \d{4}-/i);
    expect(proxy.sent).toMatch(/x-amz-server-side-encryption: AES256/i);
    expect(proxy.sent).toMatch(/x-amz-storage-class: STANDARD_IA/i);
    expect(proxy.sent).not.toMatch(/content-encoding: aws-chunked/i);
    // upload bodies are checked by their ETags, not hashed again for the signature
    expect(proxy.sent).toMatch(/x-amz-content-sha256: UNSIGNED-PAYLOAD/i);
  });

  it("an S3 outage mid-upload: the local copy is intact and verified, the s3 copy pending, then written after the store is back", async () => {
    proxy.cutAfter(20 * MiB);
    const run = await ws.drctl(["backup", "config", "--json"]);
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout);
    expect(outcome.copies.map((c: { state: string }) => c.state)).toEqual(["verified", "pending"]);
    expect(outcome.copies[1].error).toMatch(/^target offsite: cannot upload s3:\/\//);

    let [backup] = await list("config");
    expect(backup.policy_ok).toBe(false);
    expect(backup.policy.missing).toEqual(["1 of 2 verified copies", "1 of 2 media kinds", "0 of 1 offsite copies"]);
    expect((await ws.drctl(["verify", backup.id, "--target", "local"])).exitCode).toBe(0);

    // Still down: the retry fails cleanly and the copy stays pending.
    const stillDown = await ws.drctl(["replicate", "--json"]);
    expect(stillDown.exitCode).toBe(1);
    expect(JSON.parse(stillDown.stdout)).toEqual([expect.objectContaining({ backup_id: backup.id, target: "offsite", state: "pending" })]);

    await proxy.resume();
    const retry = await ws.drctl(["replicate", "--json"]);
    expect(retry.exitCode).toBe(0);
    expect(JSON.parse(retry.stdout)).toEqual([{ backup_id: backup.id, target: "offsite", state: "verified", error: null }]);
    [backup] = await list("config");
    expect(backup.policy_ok).toBe(true);
    expect(backup.size).toBeGreaterThan(70 * MiB);

    // The 70 MiB object went up in parts and came back with the same sha256.
    const verify = await ws.drctl(["verify", backup.id, "--target", "offsite", "--json"]);
    expect(verify.exitCode).toBe(0);
    expect(JSON.parse(verify.stdout)).toEqual([expect.objectContaining({ target: "offsite", state: "verified" })]);
  });
});
