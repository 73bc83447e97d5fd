import { createHash } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, describe, expect, it } from "vitest";
import { fanOut } from "../../src/pipeline/fan-out.js";
import type { GrowingFile } from "../../src/pipeline/growing-file.js";

const chunks = (n: number, size = 1 << 20) => Readable.from(Array.from({ length: n }, (_, i) => Buffer.alloc(size, i)));

async function collect(stream: Readable): Promise<number> {
  let bytes = 0;
  await pipeline(stream, new Writable({ write: (c: Buffer, _e, cb) => ((bytes += c.length), cb()) }));
  return bytes;
}

describe("fan-out of one stream to several copies", () => {
  it("delivers every byte to every branch", async () => {
    const fan = fanOut(chunks(40), 2);
    const [a, b, c] = await Promise.all([collect(fan.primary), collect(fan.secondaries[0]!.stream), collect(fan.secondaries[1]!.stream), fan.done]);
    expect([a, b, c]).toEqual([40 << 20, 40 << 20, 40 << 20]);
    expect(fan.secondaries.map((s) => s.detached)).toEqual([undefined, undefined]);
  });

  it("cuts loose a secondary that stops reading, and the primary still gets everything", async () => {
    const fan = fanOut(chunks(40), 1, { stallMs: 200 });
    fan.secondaries[0]!.stream.on("error", () => undefined); // nobody reads it
    const t0 = Date.now();
    expect(await collect(fan.primary)).toBe(40 << 20);
    await fan.done;
    expect(fan.secondaries[0]!.detached?.message).toMatch(/^no progress for 0 s/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("cuts loose a secondary whose writer fails, without failing the primary", async () => {
    const fan = fanOut(chunks(20), 1);
    const broken = fan.secondaries[0]!.stream;
    broken.once("data", () => broken.destroy(new Error("upload failed")));
    broken.on("error", () => undefined);
    expect(await collect(fan.primary)).toBe(20 << 20);
    await fan.done;
    expect(fan.secondaries[0]!.detached?.message).toBe("upload failed");
  });

  it("fails when the primary fails", async () => {
    const fan = fanOut(chunks(20), 1);
    fan.secondaries[0]!.stream.on("error", () => undefined).resume();
    fan.primary.once("data", () => fan.primary.destroy(new Error("no space left on device")));
    fan.primary.on("error", () => undefined);
    await expect(fan.done).rejects.toThrow("no space left on device");
  });
});

describe("a secondary that falls behind the primary's file", () => {
  const dir = mkdtempSync(join(tmpdir(), "drd-fan-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes the primary to a real file and shares it as it grows, as a local target does. */
  async function filePrimary(fan: ReturnType<typeof fanOut>, name: string, fail?: Error) {
    const path = join(dir, name);
    const out = createWriteStream(path);
    await new Promise((resolve) => out.once("open", resolve));
    const handle = await open(path, "r");
    let whole!: (n: number) => void;
    let broken!: (e: Error) => void;
    const file: GrowingFile = { handle, whole: new Promise<number>((res, rej) => ((whole = res), (broken = rej))) };
    file.whole.catch(() => undefined);
    let bytes = 0;
    const written = pipeline(
      fan.primary,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const c of source) {
          bytes += c.length;
          yield c;
        }
        // As a failed fsync would: every byte passed, the file is still not whole.
        if (fail) throw fail;
      },
      out,
    ).then(
      () => whole(bytes),
      (e: Error) => broken(e),
    );
    return { file, written };
  }

  /** Reads `stream` 256 KiB every 10 ms (about 25 MiB/s): slower than the source. */
  async function slowRead(stream: Readable): Promise<{ sha: string; endedAt: number }> {
    const hash = createHash("sha256");
    for await (const c of stream) {
      hash.update(c as Buffer);
      if (Math.random() < (c as Buffer).length / (256 << 10)) await new Promise((r) => setTimeout(r, 10));
    }
    return { sha: hash.digest("hex"), endedAt: Date.now() };
  }

  const sourceBytes = () => Array.from({ length: 40 }, (_, i) => Buffer.alloc(1 << 20, i + 1));
  const shaOf = (bufs: Buffer[]) => createHash("sha256").update(Buffer.concat(bufs)).digest("hex");

  it("reads the rest from the file: the source finishes at the primary's pace and the copy is byte for byte the same", async () => {
    let file: GrowingFile | undefined;
    const data = sourceBytes();
    const fan = fanOut(Readable.from(data), 1, { spool: () => file });
    const primary = filePrimary(fan, "a.bin");
    file = (await primary).file;
    const copy = slowRead(fan.secondaries[0]!.stream);
    await fan.done;
    const sourceDoneAt = Date.now();
    await (await primary).written;
    const { sha, endedAt } = await copy;
    expect(fan.secondaries[0]!.following).toBeDefined();
    expect(fan.secondaries[0]!.detached).toBeUndefined();
    expect(sha).toBe(shaOf(data));
    expect(endedAt - sourceDoneAt).toBeGreaterThan(200);
    await file.handle.close();
  });

  it("without the file, the slow secondary holds the source back as before", async () => {
    const data = sourceBytes();
    const fan = fanOut(Readable.from(data), 1);
    const primary = collect(fan.primary);
    const { sha, endedAt } = await slowRead(fan.secondaries[0]!.stream);
    await fan.done;
    expect(Date.now() - endedAt).toBeLessThan(200);
    expect(fan.secondaries[0]!.following).toBeUndefined();
    expect(sha).toBe(shaOf(data));
    expect(await primary).toBe(40 << 20);
  });

  it("cuts the follower loose when the primary's file does not become whole, and its copy never ends cleanly", async () => {
    let file: GrowingFile | undefined;
    const fan = fanOut(Readable.from(sourceBytes()), 1, { spool: () => file });
    const primary = filePrimary(fan, "b.bin", new Error("cannot fsync: input/output error"));
    file = (await primary).file;
    const copy = slowRead(fan.secondaries[0]!.stream).catch((e: Error) => e);
    await fan.done;
    expect(await copy).toBeInstanceOf(Error);
    expect(fan.secondaries[0]!.detached?.message).toBe("cannot fsync: input/output error");
    await file.handle.close();
  });
});
