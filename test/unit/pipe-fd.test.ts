import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { hasPipeFd } from "../../src/pipeline/pipe-fd.js";

describe("handing a child's stdout to the next child", () => {
  it("is allowed while nothing was read from it", async () => {
    const child = spawn("printf", ["abc"]);
    expect(hasPipeFd(child.stdout)).toBe(true);
    child.stdout.resume();
    await once(child, "close");
  });

  it("is refused once Node read some of it: those bytes would never reach the next child", async () => {
    const child = spawn("sh", ["-c", "printf abc; sleep 5"]);
    // Nobody listens, yet Node reads the child's output as soon as the event loop turns.
    while (child.stdout.bytesRead === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(child.stdout.readableLength).toBe(3);
    expect(hasPipeFd(child.stdout)).toBe(false);
    child.kill();
  });

  it("is refused for a stream that is not a pipe", async () => {
    const { PassThrough } = await import("node:stream");
    expect(hasPipeFd(new PassThrough())).toBe(false);
  });
});
