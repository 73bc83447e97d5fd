import { mkdirSync, openSync, closeSync, writeSync, ftruncateSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Workspace, problems } from "../helpers/workspace.js";

/** A sparse file (a disk image, a database file) comes back sparse: its zero runs as holes. */
describe("a sparse file", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("is restored with the same bytes and its zeros as holes", async () => {
    const src = ws.path("images");
    mkdirSync(src);
    const path = join(src, "disk.img");
    const fd = openSync(path, "w", 0o640);
    ftruncateSync(fd, 512 * 1024 * 1024);
    writeSync(fd, Buffer.from("boot sector"), 0, 11, 0);
    writeSync(fd, Buffer.from("data in the middle"), 0, 18, 300 * 1024 * 1024);
    closeSync(fd);
    expect(statSync(path).blocks * 512).toBeLessThan(1024 * 1024);
    ws.withJobs({ images: { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "images"])).exitCode).toBe(0);
    const run = await ws.drctl(["restore", "images", "--to-dir", ws.path("out")]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    const restored = ws.path("out", "images", "disk.img");
    const st = statSync(restored);
    expect(st.size).toBe(512 * 1024 * 1024);
    // Allocated: a few blocks, not 512 MiB.
    expect(st.blocks * 512).toBeLessThan(1024 * 1024);
    const bytes = readFileSync(restored);
    expect(bytes.subarray(0, 11).toString()).toBe("boot sector");
    expect(bytes.subarray(300 * 1024 * 1024, 300 * 1024 * 1024 + 18).toString()).toBe("data in the middle");
    expect(bytes.equals(readFileSync(path))).toBe(true);
  }, 120_000);
});
