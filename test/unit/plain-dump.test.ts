import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { assertRoomForPlainDump, writePlainDump } from "../../src/app/restore/postgres.js";
import { IntegrityError, OperationError } from "../../src/errors.js";
import type { ArtifactEntry, Manifest } from "../../src/manifest.js";

// What `drctl restore --jobs N` does before pg_restore: a plain dump in the work directory.
const dir = mkdtempSync(join(tmpdir(), "drd-plain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const artifact: ArtifactEntry = { name: "app.dump.zst", role: "database", database: "app", format: "pg_dump-custom", size: 1000, sha256: "0".repeat(64) };
const manifestFor = (sizeBytes: number) =>
  ({ kind: "postgres", postgres: { databases: [{ name: "app", size_bytes: sizeBytes, tables: [] }] } }) as unknown as Extract<Manifest, { kind: "postgres" }>;

describe("room for the plain dump", () => {
  it("goes ahead when the database's size fits the free space", async () => {
    await expect(assertRoomForPlainDump(dir, manifestFor(1 << 20), artifact)).resolves.toBeUndefined();
  });

  it("refuses up front, naming the sizes and the way out, when it does not", async () => {
    const refused = assertRoomForPlainDump(dir, manifestFor(2 ** 60), artifact);
    await expect(refused).rejects.toThrow(OperationError);
    await expect(refused).rejects.toThrow(/^--jobs writes the plain dump beside the download in .*: about \d+ MiB needed \(the database was \d+ MiB\), \d+ MiB free; restore without --jobs \(it streams\), or free space$/);
  });
});

describe("writing the plain dump", () => {
  it("writes every byte, readable by its owner only", async () => {
    const path = join(dir, "whole.dump");
    await writePlainDump({ output: Readable.from([Buffer.from("PGDMP"), Buffer.from(" rest")]), done: Promise.resolve() }, path);
    expect(readFileSync(path, "utf8")).toBe("PGDMP rest");
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("fails with the producer's integrity error when decryption or decompression failed", async () => {
    const path = join(dir, "cut.dump");
    const failed = writePlainDump({ output: Readable.from([Buffer.from("PGDMP")]), done: Promise.reject(new IntegrityError("decryption failed: modification detected")) }, path);
    await expect(failed).rejects.toThrow(IntegrityError);
  });

  it("never overwrites a file that is already there", async () => {
    const path = join(dir, "taken.dump");
    writeFileSync(path, "someone else's");
    await expect(writePlainDump({ output: Readable.from([Buffer.from("PGDMP")]), done: Promise.resolve() }, path)).rejects.toThrow(/cannot write the plain dump for pg_restore --jobs to .*taken\.dump: EEXIST/);
    expect(readFileSync(path, "utf8")).toBe("someone else's");
    expect(existsSync(path)).toBe(true);
  });
});
