import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { flipByte } from "../helpers/files.js";
import { BOTH_TARGETS, testClient, writeLocalAndS3Config } from "../helpers/s3.js";
import { problems, Workspace } from "../helpers/workspace.js";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";

/** A restore without --from whose first copy cannot be read takes the next, and says so. */
describe("a restore whose first copy fails", () => {
  const ws = new Workspace();
  let id = "";
  let bucket = "";
  const local = () => join(ws.backupDir, "config", id);
  const saved = () => ws.path("saved-local");

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "listen = 8443\n");
    bucket = await writeLocalAndS3Config(ws, inject("s3Port"), "nextcopy", { config: { type: "files", paths: [ws.path("src")], ...BOTH_TARGETS } });
    const run = await ws.drctl(["backup", "config", "--json"]);
    expect(run.exitCode).toBe(0);
    id = JSON.parse(run.stdout).id;
    cpSync(local(), saved(), { recursive: true });
  });
  afterAll(() => ws.remove());

  function mend() {
    rmSync(local(), { recursive: true, force: true });
    cpSync(saved(), local(), { recursive: true });
  }

  it("local copy missing an artifact: restored from offsite, naming why local was skipped", async () => {
    rmSync(join(local(), "files.tar.zst"));
    try {
      const run = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-missing"), "--json"]);
      expect(run.exitCode).toBe(0);
      const outcome = JSON.parse(run.stdout);
      expect(outcome.from).toBe("offsite");
      expect(outcome.warnings[0]).toMatch(/^restored from offsite: local was skipped: could not reach target local to download files\.tar\.zst/);
      expect(problems(run.stderr)).toMatch(/warning: the copy on local cannot be restored \(could not reach target local/);
      expect(readFileSync(ws.path("out-missing", "src", "app.conf"), "utf8")).toBe("listen = 8443\n");
    } finally {
      mend();
    }
  });

  it("local copy damaged: restored from offsite; a bare machine does the same in the config's target order", async () => {
    flipByte(join(local(), "files.tar.zst"), 40);
    const catalog = join(ws.stateDir, "catalog.sqlite");
    const savedCatalog = readFileSync(catalog);
    try {
      const run = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-damaged"), "--json"]);
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout).warnings[0]).toMatch(/^restored from offsite: local was skipped: files\.tar\.zst from local does not match its record/);
      rmSync(catalog);
      const bare = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-damaged-bare"), "--json"]);
      expect(bare.exitCode).toBe(0);
      expect(JSON.parse(bare.stdout).from).toBe("offsite");
    } finally {
      writeFileSync(catalog, savedCatalog);
      mend();
    }
  });

  it("every copy damaged: exit 3; none reachable: exit 1; each naming every copy tried", async () => {
    const s3 = testClient(inject("s3Port"));
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith("files.tar.zst"));
    const original = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0] }))).Body!.transformToByteArray();
    try {
      flipByte(join(local(), "files.tar.zst"), 40);
      const damagedRemote = Buffer.from(original);
      damagedRemote[40] = damagedRemote[40]! ^ 0xff;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys[0], Body: damagedRemote }));
      const damaged = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-all-damaged")]);
      expect(problems(damaged.stderr)).toMatch(/drctl: no copy of config could be restored: local was skipped: .*does not match its record.*; offsite was skipped: .*does not match its record/);
      expect(damaged.exitCode).toBe(3);

      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[0] }));
      rmSync(join(local(), "files.tar.zst"));
      const gone = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-none")]);
      expect(problems(gone.stderr)).toMatch(/drctl: no copy of config could be restored: local was skipped: could not reach target local.*; offsite was skipped: could not reach target offsite/);
      expect(gone.exitCode).toBe(1);
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys[0], Body: original }));
      mend();
    }
  });
});
