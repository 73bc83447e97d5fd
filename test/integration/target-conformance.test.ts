import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LocalTarget } from "../../src/targets/local.js";
import { S3Target } from "../../src/targets/s3.js";
import { ObjectNotFoundError, type Target } from "../../src/targets/target.js";
import { createBucket, parsedS3Target, s3TargetConfig } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";
import { NobodyDrctl } from "../helpers/unprivileged.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that delivers some bytes, then fails: an interrupted source. */
function failingStream(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else {
        this.destroy(new Error("source failed"));
      }
    },
  });
}

const ws = new Workspace();
type Factory = () => Promise<Target>;
const factories: [string, Factory][] = [
  ["local", async () => new LocalTarget("local", ws.path("local", randomBytes(4).toString("hex")))],
  [
    "s3",
    async () =>
      new S3Target("s3", parsedS3Target(s3TargetConfig(ws.dir, inject("s3Port"), await createBucket(inject("s3Port"), "conf")))),
  ],
];

afterAll(() => ws.remove());

describe.each(factories)("the %s target", (_kind, make) => {
  let target: Target;
  beforeAll(async () => {
    target = await make();
  });

  it("puts and gets bytes back unchanged, reporting size and sha256", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const put = await target.put("job/b1/data.bin", Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(put).toMatchObject({ size: data.length, sha256: sha(data) });
    expect(sha(await readAll(await target.get("job/b1/data.bin")))).toBe(sha(data));
    expect(await target.stat("job/b1/data.bin")).toEqual({ key: "job/b1/data.bin", size: data.length });
  });

  it("lists by prefix and deletes", async () => {
    for (const k of ["job/b2/a", "job/b2/b", "job/b3/a", "other/b4/a"]) await target.put(k, Readable.from([Buffer.from(k)]));
    expect((await target.list("job/b2/")).map((o) => o.key)).toEqual(["job/b2/a", "job/b2/b"]);
    await target.delete(["job/b2/a", "job/b2/b"]);
    expect(await target.list("job/b2/")).toEqual([]);
    expect((await target.list("job/b3/")).map((o) => o.key)).toEqual(["job/b3/a"]);
  });

  it("reports a missing object as not found", async () => {
    await expect(target.get("job/none/x")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await target.stat("job/none/x")).toBeUndefined();
  });

  it("never shows an object whose source failed", async () => {
    await expect(target.put("job/b5/partial", failingStream(100_000))).rejects.toThrow();
    expect(await target.stat("job/b5/partial")).toBeUndefined();
    expect(await target.list("job/b5/")).toEqual([]);
  });

  it("never shows an object whose producer did not confirm it (ready rejects)", async () => {
    const put = target.put("job/b6/gated", Readable.from([Buffer.from("truncated dump")]), {
      ready: async () => {
        throw new Error("pg_dump exited 1");
      },
    });
    await expect(put).rejects.toThrow("pg_dump exited 1");
    expect(await target.stat("job/b6/gated")).toBeUndefined();
    expect(await target.removeLeftovers(() => false)).toBe(0);
  });

  it("replaces an object atomically: a reader sees the old or the new bytes, never a mix", async () => {
    await target.put("job/b7/x", Readable.from([Buffer.alloc(200_000, 1)]));
    await target.put("job/b7/x", Readable.from([Buffer.alloc(300_000, 2)]));
    const got = await readAll(await target.get("job/b7/x"));
    expect(got.equals(Buffer.alloc(300_000, 2))).toBe(true);
  });

  it("refuses unsafe keys", async () => {
    await expect(target.put("../escape", Readable.from([Buffer.from("x")]))).rejects.toThrow(/unsafe object key/);
  });
});

describe("s3: the store's own checksum verifies an upload without reading it back", () => {
  it.each([0, 1000, 8 * 1024 * 1024, 8 * 1024 * 1024 + 1, 20 * 1024 * 1024])("%d bytes", async (size) => {
    const target = new S3Target("s3", parsedS3Target(s3TargetConfig(ws.dir, inject("s3Port"), await createBucket(inject("s3Port"), "etag"))));
    const data = randomBytes(size);
    const put = await target.put("job/e/x", Readable.from(size ? [data] : []));
    expect(put).toEqual({ size, sha256: sha(data), storeVerified: true });
  });

  it("a mismatch is reported as not verified, never as verified", async () => {
    const { etagVerifies, compositeEtag } = await import("../../src/targets/etag.js");
    const md5 = (b: string) => createHash("md5").update(b).digest("hex");
    const ours = ["0123", "4567", "89"].map((part) => createHash("md5").update(part).digest());
    const none = new Map<number, string>();
    const each = new Map([[1, `"${md5("0123")}"`], [2, `"${md5("4567")}"`], [3, `"${md5("89")}"`]]);
    // the composite ETag S3 gives a multipart object
    expect(etagVerifies({ object: `"${compositeEtag(ours)}"`, parts: none }, ours)).toBe(true);
    // a whole-object MD5 (s3rver): every part's own ETag must match
    expect(etagVerifies({ object: `"${md5("0123456789")}"`, parts: each }, ours)).toBe(true);
    expect(etagVerifies({ object: `"${md5("0123456789")}"`, parts: none }, ours)).toBe(false);
    expect(etagVerifies({ object: `"${md5("0123456789")}"`, parts: new Map([...each, [2, `"${md5("4568")}"`]]) }, ours)).toBe(false);
    expect(etagVerifies({ object: `"${md5("0123456789")}"`, parts: new Map([[1, each.get(1)!], [2, each.get(2)!]]) }, ours)).toBe(false);
    expect(etagVerifies({ object: '"0123456789abcdef0123456789abcdef"', parts: none }, ours)).toBe(false);
    expect(etagVerifies({ object: undefined, parts: each }, ours)).toBe(false);
  });
});

describe("permission errors name the target and the cause", () => {
  it("local: a directory drd may not write (as user nobody)", async () => {
    const nobody = new NobodyDrctl();
    await nobody.install();
    const dir = ws.path("readonly");
    mkdirSync(dir, { recursive: true });
    chmodSync(ws.dir, 0o755);
    chmodSync(dir, 0o755);
    const config = ws.path("perm.yaml");
    const src = ws.path("permsrc");
    mkdirSync(src);
    chmodSync(src, 0o755);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      config,
      JSON.stringify({
        state_dir: ws.path("permstate"),
        targets: { local: { type: "local", path: dir } },
        policy: { copies: 1, media: 1, offsite: 0 },
        jobs: { j: { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      }),
      { mode: 0o644 },
    );
    mkdirSync(ws.path("permstate"), { mode: 0o700 });
    nobody.give(ws.path("permstate"));
    const run = await nobody.run(config, ["backup", "j"]);
    nobody.remove();
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^drctl: target local: cannot create directory ${dir}/j/j-\\S+: permission denied$`));
  });

  it("s3: a bucket that does not exist", async () => {
    const target = new S3Target("offsite", parsedS3Target(s3TargetConfig(ws.dir, inject("s3Port"), "no-such-bucket", { prefix: "" })));
    await expect(target.put("a/b/c", Readable.from([Buffer.from("x")]))).rejects.toThrow(/^target offsite: cannot upload s3:\/\/no-such-bucket\/a\/b\/c: NoSuchBucket/);
  });
});
