import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GpgHome } from "../helpers/gpg.js";
import { createSigningKeys, signingKeyFiles, signManifestFile } from "../helpers/signing.js";
import { writeListing } from "../helpers/listing.js";
import { problems, Workspace } from "../helpers/workspace.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

describe("signed manifests: a backup planted in the storage is refused on a bare machine", () => {
  const ws = new Workspace();
  const ids: string[] = [];
  let otherKeys = "";
  const dirOf = (id: string) => join(ws.backupDir, "config", id);

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "genuine\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    for (let i = 0; i < 2; i++) ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    otherKeys = await createSigningKeys();
    // The server is gone; a restore host has the config and the target.
    rmSync(ws.stateDir, { recursive: true, force: true });
  });
  afterAll(() => {
    ws.remove();
    rmSync(otherKeys, { recursive: true, force: true });
  });

  /** A planted backup: a copy of the genuine one under a new id, changed by `tamper`. */
  function plant(tamper: (dir: string, id: string) => Promise<void> | void): Promise<string> {
    const id = `20991231T000000Z-${Math.random().toString(16).slice(2, 10)}`;
    cpSync(dirOf(ids[1]!), dirOf(id), { recursive: true });
    return Promise.resolve(tamper(dirOf(id), id)).then(() => id);
  }

  /** The planted files.tar.zst becomes another archive, its manifest rewritten to match (by someone without the key). */
  async function forgeArchive(dir: string, id: string) {
    mkdirSync(join(ws.dir, `evil-${id}`));
    writeFileSync(join(ws.dir, `evil-${id}`, "app.conf"), "planted\n");
    await execa("tar", ["-C", join(ws.dir, `evil-${id}`), "--zstd", "-cf", join(dir, "files.tar.zst"), "app.conf"]);
    const bytes = readFileSync(join(dir, "files.tar.zst"));
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    Object.assign(m, { id, snapshot_at: "2099-12-31T00:00:00.000Z" });
    Object.assign(m.artifacts[0], { size: bytes.length, sha256: sha(bytes), pieces: { size: 16 << 20, sha256: [sha(bytes)] } });
    delete m.artifacts[0].content_size;
    await writeListing(dir, m, [{ path: "app.conf", type: "file", mode: 0o644, size: 8, sha256: sha("planted\n") }]);
    writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
  }

  it("every manifest has a detached signature that stock gpg --verify accepts, and names the backup before it", async () => {
    const gpg = new GpgHome();
    try {
      await gpg.gpg(["--import", signingKeyFiles().public]);
      const dir = dirOf(ids[1]!);
      const run = await gpg.gpg(["--verify", join(dir, "manifest.json.sig"), join(dir, "manifest.json")]).catch((e: { stderr: Buffer }) => e);
      expect(Buffer.from(run.stderr).toString()).toMatch(/Good signature from "drd test signing"/);
      const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      expect(m.previous_id).toBe(ids[0]);
      expect(m.job).toBe("config");
      expect(m.host).toBeTruthy();
    } finally {
      await gpg.remove();
    }
  });

  it("list --from shows genuine backups as complete", async () => {
    const run = await ws.drctl(["list", "config", "--from", "local", "--json"]);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).map((b: { id: string; state: string }) => [b.id, b.state])).toEqual([
      [ids[1], "complete"],
      [ids[0], "complete"],
    ]);
  });

  it.each([
    ["a forged archive with a matching unsigned manifest", async (dir: string, id: string) => {
      await forgeArchive(dir, id);
      rmSync(join(dir, "manifest.json.sig"));
    }, /its manifest is not signed/],
    ["a forged archive with its manifest signed by another key", async (dir: string, id: string) => {
      await forgeArchive(dir, id);
      await signManifestFile(join(dir, "manifest.json"), join(otherKeys, "signing-secret.asc"));
    }, /it is signed by key [0-9A-F]{16}, which is not trusted here/],
    ["a forged archive under the genuine signature", forgeArchive, /its signature does not match the manifest \(the manifest was changed\)/],
    ["a genuine manifest and signature copied under another id", () => undefined, /its manifest was signed for config\/\S+, not for config\/\S+ \(moved or replayed\)/],
  ])("%s: listed as untrusted, refused by restore and drill with exit 3", async (_name, tamper, why) => {
    const id = await plant(tamper);
    try {
      const list = JSON.parse((await ws.drctl(["list", "config", "--from", "local", "--json"])).stdout);
      const planted = list.find((b: { id: string }) => b.id === id);
      expect(planted.state).toBe("untrusted");
      expect(planted.untrusted_reason).toMatch(why);

      // Dated 2099, it is still never "the newest": a plain restore and a drill take the newest trusted one.
      const newest = await ws.drctl(["restore", "config", "--from", "local", "--to-dir", ws.path(`newest-${id}`), "--json"]);
      expect(JSON.parse(newest.stdout).backup_id).toBe(ids[1]);
      const drill = await ws.drctl(["drill", "config", "--target", "local", "--json"]);
      expect(drill.exitCode).toBe(0);
      expect(JSON.parse(drill.stdout).backup_id).toBe(ids[1]);

      // Named, it is refused, naming the trusted one to use.
      const to = ws.path(`restore-${id}`);
      const run = await ws.drctl(["restore", "config", "--from", "local", "--backup", id, "--to-dir", to]);
      expect(problems(run.stderr)).toMatch(new RegExp(`backup config/${id} on local is untrusted: .*restore refused; the newest trusted backup is ${ids[1]}`));
      expect(problems(run.stderr)).toMatch(why);
      expect(run.exitCode).toBe(3);
      expect(existsSync(to)).toBe(false);

      const dry = await ws.drctl(["restore", "config", "--from", "local", "--backup", id, "--to-dir", to, "--dry-run"]);
      expect(dry.exitCode).toBe(3);

      const rebuilt = await ws.drctl(["catalog", "rebuild", "--from", "local", "--json"]);
      expect(JSON.parse(rebuilt.stdout).untrusted).toEqual([{ id: `config/${id}`, reason: expect.stringMatching(why) }]);
      rmSync(ws.stateDir, { recursive: true, force: true });
    } finally {
      rmSync(dirOf(id), { recursive: true, force: true });
    }
  });

  it("verify reports a backup planted on a target as untrusted (exit 3), the genuine ones verified", async () => {
    expect((await ws.drctl(["catalog", "rebuild", "--from", "local"])).exitCode).toBe(0);
    const id = await plant(() => undefined);
    try {
      const run = await ws.drctl(["verify", "--job", "config", "--target", "local", "--json"]);
      expect(run.exitCode).toBe(3);
      const results = JSON.parse(run.stdout) as { backup_id: string; state: string; problem: string | null }[];
      expect(results.filter((r) => r.state === "verified").map((r) => r.backup_id).sort()).toEqual([...ids].sort());
      expect(results.find((r) => r.backup_id === id)).toMatchObject({ state: "untrusted", problem: expect.stringMatching(/signed for config\/\S+, not for config\/\S+ \(moved or replayed\)/) });
    } finally {
      rmSync(dirOf(id), { recursive: true, force: true });
      rmSync(ws.stateDir, { recursive: true, force: true });
    }
  });

  it("--allow-unsigned restores a backup made before signing, with a warning", async () => {
    const id = await plant((dir) => rmSync(join(dir, "manifest.json.sig")));
    const m = JSON.parse(readFileSync(join(dirOf(id), "manifest.json"), "utf8"));
    m.id = id;
    writeFileSync(join(dirOf(id), "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
    try {
      const to = ws.path("unsigned");
      const run = await ws.drctl(["restore", "config", "--from", "local", "--backup", id, "--to-dir", to, "--allow-unsigned"]);
      expect(problems(run.stderr)).toMatch(new RegExp(`warning: backup config/${id} on local is untrusted \\(its manifest is not signed\\); restored because --allow-unsigned was given`));
      expect(run.exitCode).toBe(0);
      expect(readFileSync(join(to, "src", "app.conf"), "utf8")).toBe("genuine\n");
    } finally {
      rmSync(dirOf(id), { recursive: true, force: true });
      rmSync(ws.stateDir, { recursive: true, force: true });
    }
  });

  it("a restore host that trusts only another key refuses the genuine backups", async () => {
    const host = new Workspace();
    try {
      host.writeConfig({
        state_dir: host.stateDir,
        signing: null,
        trust: [join(otherKeys, "signing-public.asc")],
        targets: { local: { type: "local", path: ws.backupDir } },
        policy: { copies: 1, media: 1, offsite: 0 },
        jobs: { config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      });
      const run = await host.drctl(["restore", "config", "--from", "local", "--to-dir", host.path("r")]);
      expect(problems(run.stderr)).toMatch(/untrusted: it is signed by key [0-9A-F]{16}, which is not trusted here/);
      expect(run.exitCode).toBe(3);
    } finally {
      host.remove();
    }
  });
});
