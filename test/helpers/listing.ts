import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { execa } from "execa";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

export interface ListedEntry {
  path: string;
  type: string;
  mode: number;
  size: number;
  sha256?: string;
  link?: string;
}

type ManifestJson = { artifacts: { name: string; role: string; size: number; sha256: string; content_size?: number; pieces?: unknown }[]; files: { entry_count: number } };

/** The entries of a files backup in `dir`, from its listing artifact (`decrypt` opens a .gpg one). */
export async function listedEntries(dir: string, decrypt?: (path: string) => Promise<Buffer>): Promise<ListedEntry[]> {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as ManifestJson;
  const artifact = manifest.artifacts.find((a) => a.role === "listing");
  if (!artifact) throw new Error(`no listing artifact in ${dir}`);
  let name = artifact.name;
  let bytes = readFileSync(join(dir, name));
  if (name.endsWith(".gpg")) {
    bytes = await decrypt!(join(dir, name));
    name = name.slice(0, -4);
  }
  const plain = name.endsWith(".zst") ? Buffer.from((await execa("zstd", ["-dc"], { input: bytes, encoding: "buffer" })).stdout) : name.endsWith(".gz") ? gunzipSync(bytes) : bytes;
  return plain.toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as ListedEntry);
}

/**
 * Replaces the listing of the (unencrypted, zstd) files backup whose manifest is `manifest`
 * (parsed, changed in place; the caller writes and signs it) with `entries`.
 */
export async function writeListing(dir: string, manifest: ManifestJson, entries: object[]): Promise<void> {
  const artifact = manifest.artifacts.find((a) => a.role === "listing")!;
  const plain = Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
  const compressed = Buffer.from((await execa("zstd", ["-qc"], { input: plain, encoding: "buffer" })).stdout);
  writeFileSync(join(dir, artifact.name), compressed);
  Object.assign(artifact, { size: compressed.length, sha256: sha(compressed), content_size: plain.length, pieces: { size: 16 * 1024 * 1024, sha256: [sha(compressed)] } });
  manifest.files.entry_count = entries.length;
}
