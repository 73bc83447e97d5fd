import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RecordingProxy, type Recorded } from "../helpers/recording-proxy.js";
import { createBucket, s3TargetConfig } from "../helpers/s3.js";
import { problems, Workspace } from "../helpers/workspace.js";

/** Object data sent to the store: PutObject and UploadPart (not CreateMultipartUpload, Complete, Get). */
const uploads = (requests: Recorded[]) => requests.filter((r) => r.method === "PUT");

describe("S3 Object Lock and versions: the requests drd builds", () => {
  const ws = new Workspace();
  let proxy: RecordingProxy;

  beforeAll(async () => {
    proxy = await new RecordingProxy(inject("s3Port")).listen();
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "small.conf"), "x = 1\n");
    // Incompressible, so the artifact takes several 8 MiB parts: a multipart upload.
    writeFileSync(ws.path("src", "big.bin"), randomBytes(20 * 1024 * 1024));
    const bucket = await createBucket(inject("s3Port"), "lock");
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: {
        local: { type: "local", path: ws.backupDir },
        offsite: s3TargetConfig(ws.dir, proxy.port, bucket, { object_lock: { mode: "COMPLIANCE", days: 30 } }),
      },
      policy: { copies: 2, media: 2, offsite: 1 },
      jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local", "offsite"] } },
    });
  });
  afterAll(async () => {
    await proxy.close();
    ws.remove();
  });

  it("every locked PutObject and UploadPart carries a Content-MD5 that matches its body, and the lock headers", async () => {
    proxy.versioned = true;
    const run = await ws.drctl(["backup", "config", "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    const sent = uploads(proxy.requests);
    const parts = sent.filter((r) => r.url.includes("partNumber="));
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(sent.filter((r) => !r.url.includes("partNumber=")).length).toBeGreaterThanOrEqual(2); // manifest and signature
    for (const r of sent) {
      expect(r.headers["content-md5"], `${r.method} ${r.url}`).toBe(r.bodyMd5);
      expect(r.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    }
    const starts = proxy.requests.filter((r) => r.method === "POST" && r.url.includes("uploads"));
    for (const r of [...starts, ...sent.filter((x) => !x.url.includes("partNumber="))]) {
      expect(r.headers["x-amz-object-lock-mode"]).toBe("COMPLIANCE");
      expect(Date.parse(String(r.headers["x-amz-object-lock-retain-until-date"])) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    }
  });

  it("records the version the store gave each object, and verify and restore read exactly those", async () => {
    const db = new Database(join(ws.stateDir, "catalog.sqlite"));
    const row = db.prepare("SELECT versions FROM copies WHERE target = 'offsite'").get() as { versions: string };
    db.close();
    const versions = JSON.parse(row.versions) as Record<string, string>;
    expect(Object.keys(versions).sort()).toEqual(["files.listing.jsonl.zst", "files.tar.zst", "manifest.json", "manifest.json.sig"]);
    const gets = () => proxy.requests.filter((r) => r.method === "GET" && !r.url.includes("list-type"));

    proxy.requests.length = 0;
    expect((await ws.drctl(["verify", "--target", "offsite"])).exitCode).toBe(0);
    // Each recorded object is re-read at its version (the scan for planted manifests also reads them by name).
    const versionOf = (r: Recorded) => new URL(r.url, "http://x").searchParams.get("versionId");
    expect(gets().map(versionOf).filter(Boolean).sort()).toEqual(Object.values(versions).sort());
    expect(gets().filter((r) => r.url.includes("files.tar.zst")).map(versionOf)).toEqual([versions["files.tar.zst"]]);

    proxy.requests.length = 0;
    const to = ws.path("restored");
    const restore = await ws.drctl(["restore", "config", "--from", "offsite", "--to-dir", to]);
    expect(problems(restore.stderr)).toBe("");
    expect(gets().map(versionOf).sort()).toEqual([versions["files.listing.jsonl.zst"], versions["files.tar.zst"]].sort());
  });

  it("a bare machine lists a locked target's versions: a backup deleted without its version id is found, hidden, not gone", async () => {
    const list = JSON.parse((await ws.drctl(["list", "config", "--from", "offsite", "--json"])).stdout) as { id: string }[];
    const id = list[0]!.id;
    const key = `drd/config/${id}/manifest.json`;
    const catalog = join(ws.stateDir, "catalog.sqlite");
    const saved = readFileSync(catalog);
    // A delete without a version id: the bucket answers listings without the object, and its
    // version listing with the old version under a delete marker (s3rver keeps no versions:
    // the proxy answers that listing as a versioned bucket does).
    const manifest = await ws.drctl(["list", "config", "--from", "offsite"]);
    expect(manifest.exitCode).toBe(0);
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${inject("s3Port")}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    const bucket = (readFileSync(ws.configPath, "utf8").match(/bucket: (\S+)/) ?? [])[1]!;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    proxy.answer = (method, url) =>
      method === "GET" && url.includes("versions")
        ? `<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>drd/config/</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
          `<Version><Key>${key}</Key><VersionId>v-old</VersionId><IsLatest>false</IsLatest><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>"0"</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Version>` +
          `<DeleteMarker><Key>${key}</Key><VersionId>v-marker</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-02T00:00:00.000Z</LastModified></DeleteMarker></ListVersionsResult>`
        : undefined;
    try {
      rmSync(catalog);
      const bare = await ws.drctl(["list", "config", "--from", "offsite"]);
      expect(bare.exitCode).toBe(0);
      expect(bare.stderr).toContain(`hidden: config/${id} on offsite: it was deleted without its version id: Object Lock keeps it behind a delete marker (its versions can still be read)`);
      writeFileSync(catalog, saved);
      const verify = await ws.drctl(["verify", "--job", "config", "--target", "offsite", "--json"]);
      expect(verify.exitCode).toBe(3);
      expect(JSON.parse(verify.stdout)).toContainEqual(expect.objectContaining({ backup_id: id, state: "missing", problem: expect.stringContaining("delete marker") }));
    } finally {
      proxy.answer = undefined;
      writeFileSync(catalog, saved);
    }
  });

  it("without object_lock nothing changes: no Content-MD5 sent", async () => {
    const plain = new Workspace();
    try {
      const bucket = await createBucket(inject("s3Port"), "nolock");
      plain.writeConfig({
        state_dir: plain.stateDir,
        targets: { local: { type: "local", path: plain.backupDir }, offsite: s3TargetConfig(plain.dir, proxy.port, bucket) },
        policy: { copies: 2, media: 2, offsite: 1 },
        jobs: { config: { type: "files", paths: [ws.path("src", "small.conf")], schedule: "0 * * * *", rpo: "1h", targets: ["local", "offsite"] } },
      });
      proxy.requests.length = 0;
      expect((await plain.drctl(["backup", "config"])).exitCode).toBe(0);
      expect(uploads(proxy.requests).length).toBeGreaterThan(0);
      expect(uploads(proxy.requests).every((r) => r.headers["content-md5"] === undefined)).toBe(true);
    } finally {
      plain.remove();
    }
  });

  it("config check --online warns (exit 0) when the bucket does not say it keeps the lock", async () => {
    const run = await ws.drctl(["config", "check", "--online"]);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/^targets\.offsite\.object_lock: warning: (bucket \S+ (has no|does not have) Object Lock|could not read the Object Lock configuration of bucket \S+ \()/m);
  });
});
