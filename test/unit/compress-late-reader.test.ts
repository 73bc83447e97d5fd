import { Readable } from "node:stream";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { compress } from "../../src/pipeline/compress.js";

/**
 * A small artifact is compressed, and zstd has exited, before its reader is set up (the
 * encryptor makes its session keys first). Node discards a child's unread output when it
 * exits: every byte must still reach the late reader.
 */
describe("compression read late", () => {
  for (const algorithm of ["zstd", "gzip", "none"] as const) {
    it(`${algorithm}: a reader that starts after the compressor finished gets every byte`, async () => {
      const plain = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(""));
      const c = compress({ algorithm, level: undefined }, Readable.from([plain]), new AbortController().signal);
      await new Promise((r) => setTimeout(r, 300));
      const chunks: Buffer[] = [];
      for await (const chunk of c.output) chunks.push(chunk as Buffer);
      await c.done;
      const out = Buffer.concat(chunks);
      const back = algorithm === "none" ? out : Buffer.from((await execa(algorithm, ["-dc"], { input: out, encoding: "buffer", stripFinalNewline: false })).stdout);
      expect(back.equals(plain)).toBe(true);
      expect(await c.inputBytes).toBe(plain.length);
    });
  }
});
