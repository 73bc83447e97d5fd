import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Workspace, problems } from "../helpers/workspace.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** A raw tar archive, written header by header: node-tar itself refuses to create these. */
function rawTar(entries: { path: string; type?: "File" | "SymbolicLink"; body?: string; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const header = new tar.Header({ path: e.path, mode: 0o644, size: e.type === "SymbolicLink" ? 0 : body.length, type: e.type ?? "File", linkpath: e.linkpath ?? "", mtime: new Date() });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (e.type !== "SymbolicLink" && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe("restoring a hostile archive", () => {
  const ws = new Workspace();
  const outside = ws.path("outside");
  let id = "";

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(ws.path("src", "a.conf"), "a\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    id = JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id;
  });
  afterAll(() => ws.remove());

  /** Replaces the backup's archive with `archive`, with a manifest and catalog record that match it. */
  async function install(archive: Buffer) {
    const dir = join(ws.backupDir, "config", id);
    writeFileSync(join(dir, "files.tar"), archive);
    await execa("zstd", ["-qf", join(dir, "files.tar"), "-o", join(dir, "files.tar.zst")]);
    const compressed = readFileSync(join(dir, "files.tar.zst"));
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    manifest.artifacts[0].sha256 = sha(compressed);
    manifest.artifacts[0].size = compressed.length;
    manifest.artifacts[0].pieces = { size: 64 * 1024 * 1024, sha256: [sha(compressed)] };
    manifest.files.entries = [];
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    writeFileSync(join(dir, "manifest.json"), text);
    const db = new Database(join(ws.stateDir, "catalog.sqlite"));
    db.prepare("UPDATE backups SET manifest = ?, sha256 = ?, size = ? WHERE id = ?").run(text, sha(text), compressed.length, id);
    db.close();
  }

  it.each([
    ["a .. entry", [{ path: "../escape.txt", body: "pwned" }], /hostile archive refused: path with \.\. \.\.\/escape\.txt/],
    ["an absolute path", [{ path: `${ws.path("outside")}/abs.txt`, body: "pwned" }], /hostile archive refused: absolute path \//],
    [
      "a symlink, then a file written through it",
      [
        { path: "link", type: "SymbolicLink" as const, linkpath: ws.path("outside") },
        { path: "link/pwned.txt", body: "pwned" },
      ],
      /hostile archive refused: link\/pwned\.txt would be written through the symlink link/,
    ],
  ])("%s: exit 3, nothing written outside the directory", async (_name, entries, message) => {
    await install(rawTar([{ path: "ok.txt", body: "fine" }, ...entries]));
    const to = ws.path(`restore-${Math.random().toString(36).slice(2)}`);
    const run = await ws.drctl(["restore", "config", "--to-dir", to]);
    expect(problems(run.stderr)).toMatch(message);
    expect(run.exitCode).toBe(3);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(ws.path("escape.txt"))).toBe(false);
    expect(existsSync(join(to, "..", "escape.txt"))).toBe(false);
    // The restore created the directory, so a refused restore removes it: no partial data.
    expect(existsSync(to)).toBe(false);
  });
});
