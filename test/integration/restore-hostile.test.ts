import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Workspace, problems } from "../helpers/workspace.js";
import { signManifestFile } from "../helpers/signing.js";
import { writeListing } from "../helpers/listing.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

type Entry = { path: string; type?: "File" | "SymbolicLink" | "Link" | "Directory" | "CharacterDevice"; body?: string; linkpath?: string };

function block(header: tar.Header): Buffer {
  const b = Buffer.alloc(512);
  header.encode(b, 0);
  return b;
}

/** A raw tar archive, written header by header (long names through a PAX header): node-tar itself refuses to create these. */
function rawTar(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "File";
    const body = Buffer.from(type === "File" ? (e.body ?? "") : "");
    if (e.path.length > 99 || (e.linkpath?.length ?? 0) > 99) blocks.push(new tar.Pax({ path: e.path, ...(e.linkpath ? { linkpath: e.linkpath } : {}) }).encode());
    const mode = type === "Directory" ? 0o755 : 0o644;
    blocks.push(block(new tar.Header({ path: e.path.slice(0, 99), mode, size: body.length, type, linkpath: (e.linkpath ?? "").slice(0, 99), mtime: new Date() })));
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** What a manifest forged to match the archive lists: every entry, every file's sha256. */
function forgedEntries(entries: Entry[]) {
  return entries.map((e) => {
    const type = e.type ?? "File";
    if (type === "File") return { path: e.path, type: "file", mode: 0o644, size: Buffer.byteLength(e.body ?? ""), sha256: sha(e.body ?? "") };
    if (type === "SymbolicLink") return { path: e.path, type: "symlink", mode: 0o777, size: 0, link: e.linkpath };
    if (type === "Directory") return { path: e.path, type: "directory", mode: 0o755, size: 0 };
    return { path: e.path, type: "other", mode: 0o644, size: 0 };
  });
}

describe("restoring a hostile archive on a bare machine", () => {
  const ws = new Workspace();
  const outside = ws.path("outside");
  const victim = join(outside, "target.txt");
  let id = "";

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "a.conf"), "a\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    id = JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id;
    // A bare machine: only the config and the target are left.
    rmSync(ws.stateDir, { recursive: true, force: true });
  });
  afterAll(() => ws.remove());

  /** Replaces the backup's archive with `archive`, with a manifest that matches it, signed as drd signs. */
  async function install(archive: Buffer, entries: object[]) {
    const dir = join(ws.backupDir, "config", id);
    writeFileSync(join(dir, "files.tar"), archive);
    await execa("zstd", ["-qf", join(dir, "files.tar"), "-o", join(dir, "files.tar.zst")]);
    rmSync(join(dir, "files.tar"));
    const compressed = readFileSync(join(dir, "files.tar.zst"));
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    manifest.artifacts[0].sha256 = sha(compressed);
    manifest.artifacts[0].size = compressed.length;
    manifest.artifacts[0].pieces = { size: 16 * 1024 * 1024, sha256: [sha(compressed)] };
    manifest.artifacts[0].content_size = archive.length;
    await writeListing(dir, manifest, entries);
    writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    // Signed with the trusted key: these archives get past the signature (a stolen key, or
    // --allow-unsigned) and must still be refused by the extraction itself.
    await signManifestFile(join(dir, "manifest.json"));
  }

  const long = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(60)}`;
  const cases: [string, Entry[], RegExp, object[]?][] = [
    ["a .. entry", [{ path: "../outside/target.txt", body: "pwned" }], /hostile archive refused: path with \.\. \.\.\/outside\/target\.txt/],
    ["an absolute path", [{ path: victim, body: "pwned" }], /hostile archive refused: absolute path \//],
    [
      "a symlink, then a file written through it",
      [{ path: "link", type: "SymbolicLink", linkpath: outside }, { path: "link/target.txt", body: "pwned" }],
      /hostile archive refused: link\/target\.txt would be written through the symlink link/,
    ],
    [
      "a hard link whose target passes through an archived symlink",
      [{ path: "evil", type: "SymbolicLink", linkpath: outside }, { path: "x", type: "Link", linkpath: "evil/target.txt" }],
      /hostile archive refused: hard link x points through the symlink evil: evil\/target\.txt/,
    ],
    ["a hard link to an absolute path", [{ path: "x", type: "Link", linkpath: victim }], /hostile archive refused: hard link x points outside/],
    [
      "a hard link to an archived symlink (chmod of it would follow)",
      [{ path: "s", type: "SymbolicLink", linkpath: victim }, { path: "h", type: "Link", linkpath: "s" }],
      /hostile archive refused: hard link h points at s, which is not a file extracted before it/,
    ],
    [
      "a symlink replaced by a file later in the archive",
      [{ path: "s", type: "SymbolicLink", linkpath: victim }, { path: "s", body: "pwned" }],
      /hostile archive refused: s appears twice in the archive: a later entry would replace the symlink made earlier/,
    ],
    [
      "a directory entry over a symlink",
      [{ path: "d", type: "SymbolicLink", linkpath: outside }, { path: "d", type: "Directory" }],
      /hostile archive refused: d appears twice in the archive/,
    ],
    [
      "a long (PAX) name through a symlink",
      [{ path: "l", type: "SymbolicLink", linkpath: outside }, { path: `l/${long}`, body: "pwned" }],
      /hostile archive refused: l\/d{60}\/e{60}\/f{60} would be written through the symlink l/,
    ],
    ["a long (PAX) name with ..", [{ path: `${long}/../../../../outside/target.txt`, body: "pwned" }], /hostile archive refused: path with \.\./],
    [
      "a duplicate file entry",
      [{ path: "ok2.txt", body: "first" }, { path: "ok2.txt", body: "second" }],
      /hostile archive refused: ok2\.txt appears twice in the archive/,
    ],
    ["a device node", [{ path: "dev", type: "CharacterDevice" }], /hostile archive refused: unsupported entry type CharacterDevice for dev/],
    [
      "a benign archive whose manifest names a path outside",
      [{ path: "ok2.txt", body: "fine" }],
      /the archive does not match its manifest: the manifest lists an unsafe path "\.\.\/outside\/target\.txt"/,
      [{ path: "ok.txt", type: "file", mode: 0o644, size: 4, sha256: sha("fine") }, { path: "ok2.txt", type: "file", mode: 0o644, size: 4, sha256: sha("fine") }, { path: "../outside/target.txt", type: "file", mode: 0o4777, size: 0, sha256: sha("") }],
    ],
    [
      "a benign symlink whose manifest lists it as a file (chmod would follow it)",
      [{ path: "s", type: "SymbolicLink", linkpath: victim }],
      /the archive does not match its manifest: the manifest lists s as a file, the archive holds a symlink/,
      [{ path: "ok.txt", type: "file", mode: 0o644, size: 4, sha256: sha("fine") }, { path: "s", type: "file", mode: 0o4777, size: 0, sha256: sha("") }],
    ],
  ];

  it.each(cases)("%s: exit 3, the file outside untouched, nothing left", async (_name, entries, message, manifestEntries) => {
    rmSync(outside, { recursive: true, force: true });
    mkdirSync(outside);
    writeFileSync(victim, "precious\n");
    chmodSync(victim, 0o640);
    const before = statSync(victim);
    const all: Entry[] = [{ path: "ok.txt", body: "fine" }, ...entries];
    await install(rawTar(all), manifestEntries ?? forgedEntries(all));
    const to = ws.path(`restore-${Math.random().toString(36).slice(2)}`);
    const run = await ws.drctl(["restore", "config", "--from", "local", "--to-dir", to]);
    expect(problems(run.stderr)).toMatch(message);
    expect(run.exitCode).toBe(3);
    const after = statSync(victim);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(after.mode).toBe(before.mode);
    expect(after.nlink).toBe(1);
    expect(after.uid).toBe(before.uid);
    expect(existsSync(ws.path("escape.txt"))).toBe(false);
    // The restore created the directory, so a refused restore removes it: no partial data.
    expect(existsSync(to)).toBe(false);
  });

  it("the same archive without tricks restores (the forging itself is sound)", async () => {
    const all: Entry[] = [{ path: "ok.txt", body: "fine" }, { path: "sub", type: "Directory" }, { path: "sub/b.txt", body: "bee" }, { path: "hard", type: "Link", linkpath: "sub/b.txt" }, { path: "s", type: "SymbolicLink", linkpath: victim }];
    await install(rawTar(all), forgedEntries(all));
    const to = ws.path("benign");
    const run = await ws.drctl(["restore", "config", "--from", "local", "--to-dir", to]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(readFileSync(join(to, "hard"), "utf8")).toBe("bee");
    expect(statSync(join(to, "sub", "b.txt")).nlink).toBe(2);
  });
});
