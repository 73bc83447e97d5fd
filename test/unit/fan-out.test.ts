import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { fanOut } from "../../src/pipeline/fan-out.js";

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
    const fan = fanOut(chunks(40), 1, 200);
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
