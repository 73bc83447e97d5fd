import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decompress, declaredLimit } from "../../src/pipeline/compress.js";
import { writeListing } from "../helpers/listing.js";
import { signManifestFile } from "../helpers/signing.js";
import { problems, Workspace } from "../helpers/workspace.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/**
 * Someone who can write to the storage, on a machine that lost its catalog: every manifest
 * and signature there is untrusted input, and one bad file never blocks the others.
 */
describe("manifests and signatures on a target are untrusted input", () => {
  const ws = new Workspace();
  const ids: string[] = [];
  const dirOf = (id: string) => join(ws.backupDir, "config", id);
  const auditFile = () => join(ws.stateDir, "audit.jsonl");

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "genuine\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    for (let i = 0; i < 2; i++) ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    // A bare machine that has begun its recovery: its audit trail records the catalog rebuilt; the catalog is gone again.
    expect((await ws.drctl(["catalog", "rebuild", "--from", "local"])).exitCode).toBe(0);
    rmSync(join(ws.stateDir, "catalog.sqlite"), { force: true });
  });
  afterAll(() => ws.remove());

  /** A copy of the newest genuine backup under a new id. */
  function plantCopy(): { id: string; dir: string } {
    const id = `config-20991231T000000Z-${Math.random().toString(16).slice(2, 6)}`;
    cpSync(dirOf(ids[1]!), dirOf(id), { recursive: true });
    return { id, dir: dirOf(id) };
  }

  function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    edit(m);
    writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
  }

  it("an artifact named ../audit.jsonl is refused as invalid; the audit trail stays whole", async () => {
    const { id, dir } = plantCopy();
    try {
      editManifest(dir, (m) => {
        m.id = id;
        m.artifacts[0].name = "../audit.jsonl";
      });
      await signManifestFile(join(dir, "manifest.json"));
      const before = readFileSync(auditFile(), "utf8");
      const run = await ws.drctl(["restore", "config", "--backup", id, "--to-dir", ws.path("out-audit"), "--allow-unsigned"]);
      expect(problems(run.stderr)).toMatch(new RegExp(`backup config/${id} on local is invalid: its manifest is invalid: artifacts\\.0\\.name: not a plain file name; restore refused`));
      expect(run.exitCode).toBe(3);
      expect(readFileSync(auditFile(), "utf8").startsWith(before)).toBe(true);
      expect((await ws.drctl(["audit", "verify"])).exitCode).toBe(0);
      expect(existsSync(ws.path("out-audit"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a 600 MB manifest and a 212 MB signature block nothing: list, rebuild and restore of a good backup work, each named invalid", async () => {
    const big = plantCopy();
    const bigSig = plantCopy();
    try {
      // Sparse: they cost the disk nothing, a reader that loads them 600 MB of memory.
      truncateSync(join(big.dir, "manifest.json"), 600 * 1024 * 1024);
      truncateSync(join(bigSig.dir, "manifest.json.sig"), 212 * 1024 * 1024);
      editManifest(bigSig.dir, (m) => (m.id = bigSig.id));

      const list = await ws.drctl(["list", "config", "--from", "local", "--json"]);
      expect(list.exitCode).toBe(0);
      const listed = JSON.parse(list.stdout) as { id: string; state: string; untrusted_reason?: string }[];
      expect(listed.filter((b) => b.state === "complete").map((b) => b.id).sort()).toEqual([...ids].sort());
      expect(listed.find((b) => b.id === bigSig.id)).toMatchObject({ state: "untrusted", untrusted_reason: "its signature is invalid: it is 222298112 bytes, more than the 65536 allowed" });
      expect(list.stderr).toContain(`invalid: config/${big.id} on local: its manifest is invalid: it is 629145600 bytes, more than the 1048576 allowed`);

      const restore = await ws.drctl(["restore", "config", "--backup", ids[0]!, "--to-dir", ws.path("out-big")]);
      expect(problems(restore.stderr)).toBe("");
      expect(restore.exitCode).toBe(0);
      expect(readFileSync(ws.path("out-big", "src", "app.conf"), "utf8")).toBe("genuine\n");

      const rebuild = await ws.drctl(["catalog", "rebuild", "--from", "local", "--json"], { env: {} });
      expect(rebuild.exitCode).toBe(0);
      expect(JSON.parse(rebuild.stdout)).toMatchObject({ added: 2, invalid: [{ id: `config/${big.id}` }] });
      rmSync(join(ws.stateDir, "catalog.sqlite"), { force: true });
    } finally {
      rmSync(big.dir, { recursive: true, force: true });
      rmSync(bigSig.dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["a schema-less manifest", () => ({ format: "drd-manifest/1" }), /its manifest is invalid: id: not a backup id|its manifest is invalid: kind:/],
    ["a manifest that is not drd's", () => ({ hello: "world" }), /its manifest is invalid: its format is "missing"|its format is missing/],
    ["a manifest with a negative size", (m: Record<string, any>) => ({ ...m, artifacts: [{ ...m.artifacts[0], size: -1 }] }), /artifacts\.0\.size/],
    ["a manifest whose time is not a time", (m: Record<string, any>) => ({ ...m, snapshot_at: "soon" }), /snapshot_at/],
    ["a manifest that is not JSON", () => "{ not json", /its manifest is invalid: it is not JSON/],
  ])("%s is listed as invalid with its reason, never a crash", async (_name, make, reason) => {
    const { id, dir } = plantCopy();
    try {
      const genuine = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      const made = make({ ...genuine, id });
      writeFileSync(join(dir, "manifest.json"), typeof made === "string" ? made : JSON.stringify(made));
      const list = await ws.drctl(["list", "config", "--from", "local"]);
      expect(list.exitCode).toBe(0);
      const line = list.stderr.split("\n").find((l) => l.includes(id));
      expect(line).toMatch(reason);
      expect(list.stdout).toContain(ids[0]);
      const restore = await ws.drctl(["restore", "config", "--backup", id, "--to-dir", ws.path(`out-${id}`), "--allow-unsigned"]);
      expect(restore.exitCode).toBe(3);
      expect(problems(restore.stderr)).toMatch(/is invalid: its manifest is invalid/);
      expect(problems(restore.stderr)).not.toMatch(/Cannot read properties|TypeError/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an archive that expands past what its entries declare is stopped there, and nothing is left", async () => {
    const { id, dir } = plantCopy();
    try {
      // One 1 GiB file of zeros: about 33 KB compressed, declared as one byte.
      const work = ws.path("bomb");
      mkdirSync(work, { recursive: true });
      writeFileSync(join(work, "app.conf"), "");
      truncateSync(join(work, "app.conf"), 1024 * 1024 * 1024);
      await execa("tar", ["-C", work, "--zstd", "-cf", join(dir, "files.tar.zst"), "app.conf"]);
      rmSync(work, { recursive: true, force: true });
      const bytes = readFileSync(join(dir, "files.tar.zst"));
      const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      m.id = id;
      Object.assign(m.artifacts[0], { size: bytes.length, sha256: sha(bytes), pieces: { size: 16 << 20, sha256: [sha(bytes)] } });
      delete m.artifacts[0].content_size;
      await writeListing(dir, m, [{ path: "app.conf", type: "file", mode: 0o644, size: 1, sha256: sha("x") }]);
      writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
      await signManifestFile(join(dir, "manifest.json"));

      const out = ws.path("out-bomb");
      const run = await ws.drctl(["restore", "config", "--backup", id, "--to-dir", out]);
      expect(problems(run.stderr)).toMatch(/files\.tar\.zst holds more than the \d+ bytes its manifest declares; restore refused/);
      expect(run.exitCode).toBe(3);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(ws.stateDir).filter((f) => f.startsWith("restore-"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a decompressed stream is held to its declared size", () => {
  for (const algorithm of ["zstd", "gzip", "none"] as const) {
    it(`${algorithm}: past the limit the stream fails with the integrity error; within it, every byte passes`, async () => {
      const plain = Buffer.alloc(64 * 1024 * 1024);
      const packed =
        algorithm === "none" ? plain : Buffer.from((await execa(algorithm, ["-c"], { input: plain, encoding: "buffer" })).stdout);
      const run = async (limit: number, readHere = true) => {
        const input = new PassThrough();
        input.end(packed);
        const out = decompress(algorithm, input, new AbortController().signal, declaredLimit("dump.zst", limit, readHere));
        let bytes = 0;
        const reading = (async () => {
          for await (const chunk of out.output) {
            bytes += (chunk as Buffer).length;
            // Handed to another process, the output is read at that process's pace (pg_restore loading rows).
            if (!readHere) await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const [r, d] = await Promise.allSettled([reading, out.done]);
        return { bytes, error: d.status === "rejected" ? (d.reason as Error).message : r.status === "rejected" ? (r.reason as Error).message : undefined };
      };
      expect(await run(plain.length)).toEqual({ bytes: plain.length, error: undefined });
      const over = await run(1024 * 1024);
      expect(over.error).toBe("dump.zst holds more than the 1048576 bytes its manifest declares; restore refused");
      expect(over.bytes).toBeLessThan(plain.length);
      if (algorithm === "zstd") {
        // Sampled from the kernel's count: stopped within a few looks, well before the end.
        const sampled = await run(1024 * 1024, false);
        expect(sampled.error).toBe("dump.zst holds more than the 1048576 bytes its manifest declares; restore refused");
        expect(sampled.bytes).toBeLessThan(16 * 1024 * 1024);
      }
    });
  }
});

describe("a files job with many files", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("keeps its manifest small (the entries in the listing) and restores every file", async () => {
    const src = ws.path("many");
    for (let d = 0; d < 10; d++) {
      mkdirSync(join(src, `dir-${d}`), { recursive: true });
      for (let f = 0; f < 1000; f++) writeFileSync(join(src, `dir-${d}`, `file-with-a-longish-name-${f}.conf`), `${d}/${f}\n`);
    }
    ws.withJobs({ many: { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    const backup = await ws.drctl(["backup", "many", "--json"]);
    expect(backup.exitCode).toBe(0);
    const id = JSON.parse(backup.stdout).id;
    const manifest = readFileSync(join(ws.backupDir, "many", id, "manifest.json"));
    // 10,011 entries: listed in the manifest they would take about 1.6 MB, more than any reader accepts.
    expect(manifest.length).toBeLessThan(16 * 1024);
    expect(JSON.parse(manifest.toString()).files.entry_count).toBe(10_011);
    const restore = await ws.drctl(["restore", "many", "--to-dir", ws.path("out"), "--json"]);
    expect(restore.exitCode).toBe(0);
    expect(JSON.parse(restore.stdout).checked).toBe("10000 file(s) match their sha256 in the manifest");
    expect(readFileSync(ws.path("out", "many", "dir-9", "file-with-a-longish-name-999.conf"), "utf8")).toBe("9/999\n");
  }, 300_000);
});
