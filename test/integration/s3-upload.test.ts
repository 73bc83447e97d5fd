import { createHash, randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { S3Target } from "../../src/targets/s3.js";
import { RecordingProxy, type Recorded } from "../helpers/recording-proxy.js";
import { createBucket, parsedS3Target, s3TargetConfig } from "../helpers/s3.js";
import { Workspace } from "../helpers/workspace.js";

const MiB = 1 << 20;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const ws = new Workspace();
let proxy: RecordingProxy;
let target: S3Target;

beforeAll(async () => {
  proxy = await new RecordingProxy(inject("s3Port")).listen();
  target = new S3Target("offsite", parsedS3Target(s3TargetConfig(ws.dir, proxy.port, await createBucket(inject("s3Port"), "upload"))));
});
afterAll(async () => {
  await proxy.close();
  ws.remove();
});
beforeEach(() => {
  proxy.requests.length = 0;
  proxy.answerDelayMs = 0;
  proxy.refuse = undefined;
});

const parts = (rs: Recorded[]) => rs.filter((r) => r.method === "PUT" && r.url.includes("partNumber="));
/** Requests whose whole body arrived (not cancelled mid-way). */
const whole = (rs: Recorded[]) => rs.filter((r) => r.bodyBytes === Number(r.headers["content-length"]));
const partNumberOf = (r: Recorded) => r.url.replace(/.*partNumber=(\d+).*/, "$1");
const singlePuts = (rs: Recorded[]) => rs.filter((r) => r.method === "PUT" && !r.url.includes("partNumber="));
const starts = (rs: Recorded[]) => rs.filter((r) => r.method === "POST" && r.url.includes("uploads"));
const completions = (rs: Recorded[]) => rs.filter((r) => r.method === "POST" && r.url.includes("uploadId="));
const aborts = (rs: Recorded[]) => rs.filter((r) => r.method === "DELETE" && r.url.includes("uploadId="));

/** The most requests that were open at one moment. */
function mostAtOnce(rs: Recorded[]): number {
  const edges = rs.flatMap((r) => [[r.arrivedAt, 1], [r.answeredAt, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (open += d));
  return most;
}

/** `data` in 64 KiB chunks, as a pipe delivers it. */
function chunked(data: Buffer): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
  })());
}

/** A stream that delivers `bytes` a MiB every 20 ms, then fails: a source that broke mid-way. */
function breaksAfter(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      setTimeout(() => {
        if (sent < bytes) {
          const n = Math.min(MiB, bytes - sent);
          sent += n;
          this.push(randomBytes(n));
        } else this.destroy(new Error("pg_dump was killed"));
      }, 20);
    },
  });
}

describe("S3 uploads", () => {
  it("cut a 5 MiB first part, then 8 MiB parts, two in flight while the next fills, and verify by ETag", async () => {
    proxy.answerDelayMs = 150;
    const data = randomBytes(29 * MiB + 1);
    const put = await target.put("job/a/big.bin", chunked(data));
    expect(put).toEqual({ size: data.length, sha256: sha(data), storeVerified: true });
    const sent = parts(proxy.requests);
    expect(sent.map((r) => r.bodyBytes)).toEqual([5 * MiB, 8 * MiB, 8 * MiB, 8 * MiB, 1]);
    // Every part the store received is the bytes drd meant to send, in order.
    const md5 = (b: Buffer) => createHash("md5").update(b).digest("base64");
    const offsets = [0, 5, 13, 21, 29].map((m) => m * MiB);
    expect(sent.map((r) => r.bodyMd5)).toEqual(offsets.map((o, i) => md5(data.subarray(o, offsets[i + 1] ?? data.length))));
    expect(mostAtOnce(sent)).toBe(2);
    expect(starts(proxy.requests)).toHaveLength(1);
    expect(completions(proxy.requests)).toHaveLength(1);
    expect(sha(await buffer(await target.get("job/a/big.bin")))).toBe(sha(data));
  });

  it("store an object smaller than the first part with one PUT", async () => {
    const data = randomBytes(5 * MiB - 1);
    expect(await target.put("job/b/small.bin", chunked(data))).toEqual({ size: data.length, sha256: sha(data), storeVerified: true });
    expect(singlePuts(proxy.requests).map((r) => r.bodyBytes)).toEqual([data.length]);
    expect(starts(proxy.requests)).toHaveLength(0);
  });

  it("start the multipart upload at once when a big object is expected, and fall back to one PUT when it turns out small", async () => {
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const data = randomBytes(MiB);
    const source = Readable.from((async function* () {
      yield data;
      await held;
    })());
    const put = target.put("job/c/expected.bin", source, { expectedSize: 200 * MiB });
    // The upload is created, and its first part sent, while that part is still filling.
    for (let i = 0; i < 100 && (parts(proxy.requests)[0]?.bodyBytes ?? 0) < MiB; i++) await new Promise((r) => setTimeout(r, 20));
    expect(starts(proxy.requests)).toHaveLength(1);
    expect(parts(proxy.requests).map((r) => r.bodyBytes)).toEqual([MiB]);
    finish();
    expect(await put).toEqual({ size: MiB, sha256: sha(data), storeVerified: true });
    // That part's request was cut short and the upload aborted.
    expect(parts(proxy.requests).map((r) => r.bodyBytes)).toEqual([MiB]);
    expect(completions(proxy.requests)).toHaveLength(0);
    expect(aborts(proxy.requests)).toHaveLength(1);
    expect(singlePuts(proxy.requests).map((r) => r.bodyBytes)).toEqual([MiB]);
    expect(await target.stat("job/c/expected.bin")).toEqual({ key: "job/c/expected.bin", size: MiB });
  });

  it("send the first part of an expected big object as it is produced, before 5 MiB are there", async () => {
    const source = new PassThrough();
    const data = randomBytes(20 * MiB);
    const put = target.put("job/g/streamed.bin", source, { expectedSize: 200 * MiB });
    source.write(data.subarray(0, 2 * MiB));
    // The store is receiving part 1 while the source has given only 2 MiB.
    const part1 = async () => parts(proxy.requests).find((r) => r.url.includes("partNumber=1"));
    for (let i = 0; i < 200 && ((await part1())?.bodyBytes ?? 0) < 2 * MiB; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await part1())?.bodyBytes).toBe(2 * MiB);
    source.end(data.subarray(2 * MiB));
    expect(await put).toEqual({ size: data.length, sha256: sha(data), storeVerified: true });
    expect(whole(parts(proxy.requests)).map((r) => [partNumberOf(r), r.bodyBytes]).sort()).toEqual([
      ["1", 5 * MiB],
      ["2", 8 * MiB],
      ["3", 7 * MiB],
    ]);
    expect(sha(await buffer(await target.get("job/g/streamed.bin")))).toBe(sha(data));
  });

  it("send the streamed first part again from its buffer when the store refuses it once", async () => {
    let refused = 0;
    proxy.refuse = (method, url) => (method === "PUT" && url.includes("partNumber=1") && refused++ === 0 ? 500 : undefined);
    const data = randomBytes(12 * MiB);
    expect(await target.put("job/h/again.bin", chunked(data), { expectedSize: 200 * MiB })).toEqual({ size: data.length, sha256: sha(data), storeVerified: true });
    // Part 2 goes out meanwhile; sorted by part number, the second sending of part 1 is there.
    expect(whole(parts(proxy.requests)).map((r) => [partNumberOf(r), r.bodyBytes]).sort()).toEqual([
      ["1", 5 * MiB],
      ["1", 5 * MiB],
      ["2", 7 * MiB],
    ]);
    expect(completions(proxy.requests)).toHaveLength(1);
  });

  it("stream later parts too, and send a last part that came up short again with its true length", async () => {
    const source = new PassThrough();
    const data = randomBytes(15 * MiB);
    // Last time the artifact was 30 MiB: parts 2 and 3 are expected whole and go out as they fill.
    const put = target.put("job/i/shorter.bin", source, { expectedSize: 30 * MiB });
    source.write(data.subarray(0, 14 * MiB));
    const part3 = () => parts(proxy.requests).find((r) => partNumberOf(r) === "3");
    for (let i = 0; i < 300 && (part3()?.bodyBytes ?? 0) < MiB; i++) await new Promise((r) => setTimeout(r, 10));
    expect(part3()?.bodyBytes).toBe(MiB);
    source.end(data.subarray(14 * MiB));
    expect(await put).toEqual({ size: data.length, sha256: sha(data), storeVerified: true });
    expect(whole(parts(proxy.requests)).map((r) => [partNumberOf(r), r.bodyBytes]).sort()).toEqual([
      ["1", 5 * MiB],
      ["2", 8 * MiB],
      ["3", 2 * MiB],
    ]);
    // The streamed part 3 said 8 MiB and was cancelled when the source ended at 15 MiB.
    expect(parts(proxy.requests).filter((r) => partNumberOf(r) === "3").map((r) => r.headers["content-length"])).toEqual([String(8 * MiB), String(2 * MiB)]);
    expect(sha(await buffer(await target.get("job/i/shorter.bin")))).toBe(sha(data));
  });

  it("abort the multipart upload when the source breaks after some parts: nothing becomes visible", async () => {
    await expect(target.put("job/d/broken.bin", breaksAfter(14 * MiB))).rejects.toThrow(/pg_dump was killed/);
    expect(parts(proxy.requests).length).toBeGreaterThanOrEqual(1);
    expect(completions(proxy.requests)).toHaveLength(0);
    expect(aborts(proxy.requests)).toHaveLength(1);
    expect(await target.stat("job/d/broken.bin")).toBeUndefined();
  });

  it("never complete the upload when the producer says its bytes are not whole", async () => {
    const put = target.put("job/e/gated.bin", chunked(randomBytes(12 * MiB)), {
      ready: async () => {
        throw new Error("pg_dump exited 1");
      },
    });
    await expect(put).rejects.toThrow("pg_dump exited 1");
    expect(parts(proxy.requests)).toHaveLength(2);
    expect(completions(proxy.requests)).toHaveLength(0);
    expect(aborts(proxy.requests)).toHaveLength(1);
    expect(await target.stat("job/e/gated.bin")).toBeUndefined();
  });

  it("fail with one line naming the object when the store keeps refusing a part, abort the upload and stop the source", async () => {
    proxy.refuse = (method, url) => (method === "PUT" && url.includes("partNumber=2") ? 500 : undefined);
    const source = chunked(randomBytes(20 * MiB));
    const put = target.put("job/f/refused.bin", source);
    await expect(put).rejects.toThrow(/^target offsite: cannot upload s3:\/\/drd-upload-\S+\/job\/f\/refused\.bin: InternalError \(HTTP 500\): refused by the test$/);
    expect(parts(proxy.requests).filter((r) => r.url.includes("partNumber=2")).length).toBe(3);
    expect(completions(proxy.requests)).toHaveLength(0);
    expect(aborts(proxy.requests)).toHaveLength(1);
    expect(source.destroyed).toBe(true);
    expect(await target.stat("job/f/refused.bin")).toBeUndefined();
  });
});
