import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fetchArtifact } from "../../src/app/restore/fetch.js";
import { IntegrityError } from "../../src/errors.js";
import type { ArtifactEntry } from "../../src/manifest.js";
import { PieceHasher, pieceSizeFor, usablePieces } from "../../src/pipeline/pieces.js";
import { LocalTarget } from "../../src/targets/local.js";

const MiB = 1 << 20;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function piecesOf(data: Buffer, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < data.length; at += size) out.push(sha(data.subarray(at, at + size)));
  return out;
}

describe("PieceHasher", () => {
  it.each([
    ["exact multiple, one chunk", 4 * MiB, [4 * MiB]],
    ["shorter last piece, odd chunks", 3 * MiB + 17, [1000, 2 * MiB, MiB - 1000 + 17]],
    ["chunks that straddle pieces", 2 * MiB + 5, [MiB - 1, 2, MiB - 1, 5]],
    ["less than a piece", 10, [10]],
  ])("%s: the same hashes as hashing each piece on its own", (_name, total, chunks) => {
    const data = randomBytes(total);
    const hasher = new PieceHasher(MiB);
    let at = 0;
    for (const length of chunks) {
      hasher.update(data.subarray(at, at + length));
      at += length;
    }
    hasher.finish();
    expect(hasher.hashes).toEqual(piecesOf(data, MiB));
  });
});

describe("pieceSizeFor", () => {
  const GiB = 1 << 30;
  it.each([
    ["a first backup (size unknown)", undefined, 16 * MiB],
    ["a small artifact", 300 * MiB, 16 * MiB],
    ["16 GiB: 1024 pieces of 16 MiB", 16 * GiB, 16 * MiB],
    ["just over 16 GiB", 16 * GiB + 1, 32 * MiB],
    ["1 TiB", 1024 * GiB, 1024 * MiB],
  ])("%s -> %d bytes per piece", (_name, expected, size) => {
    expect(pieceSizeFor(expected)).toBe(size);
    // The first piece, what loading waits for, stays small for what most restores move,
    // and a manifest never holds much more than 1024 piece hashes.
    expect(Math.ceil((expected ?? 0) / size)).toBeLessThanOrEqual(1024);
  });
});

describe("usablePieces", () => {
  const good = { size: MiB, sha256: ["a".repeat(64), "b".repeat(64)] };
  it.each([
    ["matching", good, MiB + 1, true],
    ["absent (an older manifest)", undefined, MiB, false],
    ["too few hashes for the size", good, 2 * MiB + 1, false],
    ["too many hashes for the size", good, MiB, false],
    ["pieces under 1 MiB", { size: 1024, sha256: ["a".repeat(64), "b".repeat(64)] }, 2000, false],
    ["a hash that is not hex", { size: MiB, sha256: ["a".repeat(64), "z".repeat(64)] }, MiB + 1, false],
  ])("%s -> used: %s", (_name, pieces, size, used) => {
    expect(usablePieces(pieces, size) !== undefined).toBe(used);
  });
});

describe("fetchArtifact", () => {
  const dir = mkdtempSync(join(tmpdir(), "drd-pieces-"));
  const target = new LocalTarget("local", join(dir, "store"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function store(name: string, data: Buffer): ArtifactEntry {
    mkdirSync(join(dir, "store"), { recursive: true });
    writeFileSync(join(dir, "store", name), data);
    return { name, role: "files", format: "tar", size: data.length, sha256: sha(data), pieces: { size: MiB, sha256: piecesOf(data, MiB) } };
  }

  async function readAll(fetched: ReturnType<typeof fetchArtifact>): Promise<{ bytes: Buffer; error?: unknown }> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of fetched.open()) chunks.push(chunk as Buffer);
      return { bytes: Buffer.concat(chunks) };
    } catch (error) {
      return { bytes: Buffer.concat(chunks), error };
    }
  }

  it("hands over exactly the stored bytes once they are checked", async () => {
    const data = randomBytes(5 * MiB + 123);
    const fetched = fetchArtifact(target, "whole.bin", store("whole.bin", data), mkdtempSync(join(dir, "work-")));
    const { bytes, error } = await readAll(fetched);
    await fetched.done;
    expect(error).toBeUndefined();
    expect(bytes.equals(data)).toBe(true);
  });

  it("a flipped byte in piece 4: the pieces before it are handed over, then the reader fails with an integrity error and the file is removed", async () => {
    const data = randomBytes(6 * MiB);
    const artifact = store("flipped.bin", data);
    const corrupt = Buffer.from(data);
    corrupt[3 * MiB + 10]! ^= 0xff;
    writeFileSync(join(dir, "store", "flipped.bin"), corrupt);
    const work = mkdtempSync(join(dir, "work-"));
    const fetched = fetchArtifact(target, "flipped.bin", artifact, work);
    const { bytes, error } = await readAll(fetched);
    await expect(fetched.done).rejects.toThrow(/flipped\.bin from local does not match its record: sha256 of piece 4 of 6 is [0-9a-f]{64}, expected [0-9a-f]{64}; restore refused/);
    expect(error).toBeInstanceOf(IntegrityError);
    // Never a byte of the damaged piece.
    expect(bytes.length).toBeLessThanOrEqual(3 * MiB);
    expect(bytes.equals(data.subarray(0, bytes.length))).toBe(true);
    expect(readdirSync(work)).toEqual([]);
  });

  it("a damaged last piece (shorter than the rest) is caught by its sha256 before its bytes are handed over", async () => {
    const data = randomBytes(2 * MiB + 500);
    const artifact = store("tail.bin", data);
    const corrupt = Buffer.from(data);
    corrupt[2 * MiB + 100]! ^= 0x01;
    writeFileSync(join(dir, "store", "tail.bin"), corrupt);
    const fetched = fetchArtifact(target, "tail.bin", artifact, mkdtempSync(join(dir, "work-")));
    const { bytes, error } = await readAll(fetched);
    await expect(fetched.done).rejects.toBeInstanceOf(IntegrityError);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(bytes.length).toBeLessThanOrEqual(2 * MiB);
  });

  it("without pieces (an older manifest): the whole sha256 is checked before any byte is handed over", async () => {
    const data = randomBytes(3 * MiB);
    const { pieces: _unused, ...artifact } = store("old.bin", data);
    const good = fetchArtifact(target, "old.bin", artifact, mkdtempSync(join(dir, "work-")));
    expect((await readAll(good)).bytes.equals(data)).toBe(true);
    await good.done;

    const corrupt = Buffer.from(data);
    corrupt[MiB]! ^= 0x01;
    writeFileSync(join(dir, "store", "old.bin"), corrupt);
    const bad = fetchArtifact(target, "old.bin", artifact, mkdtempSync(join(dir, "work-")));
    const { bytes, error } = await readAll(bad);
    await expect(bad.done).rejects.toThrow(/old\.bin from local does not match its record: sha256 [0-9a-f]{64} \(3145728 bytes\), expected/);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(bytes.length).toBe(0);
  });

  it("a copy shorter than recorded is refused", async () => {
    const data = randomBytes(2 * MiB);
    const artifact = store("short.bin", data);
    writeFileSync(join(dir, "store", "short.bin"), data.subarray(0, MiB + 5));
    const fetched = fetchArtifact(target, "short.bin", artifact, mkdtempSync(join(dir, "work-")));
    const { error } = await readAll(fetched);
    await expect(fetched.done).rejects.toThrow(/1048581 bytes, expected 2097152/);
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it("a copy longer than recorded is refused", async () => {
    const data = randomBytes(MiB + 1);
    const artifact = store("long.bin", data);
    writeFileSync(join(dir, "store", "long.bin"), Buffer.concat([data, Buffer.from("extra")]));
    const fetched = fetchArtifact(target, "long.bin", artifact, mkdtempSync(join(dir, "work-")));
    await readAll(fetched);
    await expect(fetched.done).rejects.toThrow(/more than the 1048577 bytes recorded/);
  });

  it("cancel stops the download and removes the file", async () => {
    const data = randomBytes(4 * MiB);
    const work = mkdtempSync(join(dir, "work-"));
    const fetched = fetchArtifact(target, "cancel.bin", store("cancel.bin", data), work);
    fetched.cancel(new Error("the restore failed elsewhere"));
    await expect(fetched.done).rejects.toThrow(/the restore failed elsewhere/);
    expect(existsSync(join(work, "cancel.bin"))).toBe(false);
  });
});
