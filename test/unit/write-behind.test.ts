import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, describe, expect, it } from "vitest";
import { WriteBehind } from "../../src/targets/write-behind.js";

describe("WriteBehind", () => {
  const dir = mkdtempSync(join(tmpdir(), "drd-wb-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const chunks = (n: number, size: number) => Readable.from(Array.from({ length: n }, (_, i) => Buffer.alloc(size, i)));

  it("flushes written data to disk in the background as the file grows, and passes every byte", async () => {
    const file = await open(join(dir, "a"), "w");
    let syncs = 0;
    // A sync that completes at once: how many start must not depend on how busy the disk is
    // (a slow real fdatasync under load lets fewer start, one at a time, by design).
    file.datasync = () => (syncs++, Promise.resolve());
    await pipeline(chunks(64, 4096), new WriteBehind(file, 16 * 4096), file.createWriteStream());
    expect(syncs).toBeGreaterThanOrEqual(2);
    const written = readFileSync(join(dir, "a"));
    expect(written.length).toBe(64 * 4096);
    expect(written[63 * 4096]).toBe(63);
  });

  it("a failed background sync fails the write (the kernel may not report it again)", async () => {
    const file = await open(join(dir, "b"), "w");
    file.datasync = () => Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await expect(pipeline(chunks(64, 4096), new WriteBehind(file, 4096), file.createWriteStream())).rejects.toThrow(/EIO/);
  });
});
