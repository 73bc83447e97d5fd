import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GpgHome } from "../helpers/gpg.js";
import { Workspace } from "../helpers/workspace.js";
import { listedEntries, type ListedEntry } from "../helpers/listing.js";

const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

describe("drctl backup of a files job", () => {
  const ws = new Workspace();
  let gpg: GpgHome;
  const src = ws.path("etc", "app");

  beforeAll(async () => {
    mkdirSync(join(src, "conf.d"), { recursive: true });
    writeFileSync(join(src, "app.conf"), "listen = 8443\n");
    writeFileSync(join(src, "conf.d", "tls.conf"), "cert = /etc/ssl/app.pem\n");
    writeFileSync(join(src, "server.key"), Buffer.alloc(3000, 7));
    chmodSync(join(src, "server.key"), 0o600);
    writeFileSync(join(src, "agent.sock"), "excluded by glob");
    symlinkSync("/etc/ssl/certs/ca.pem", join(src, "ca-link"));
    symlinkSync("conf.d/tls.conf", join(src, "tls-link"));
    gpg = await GpgHome.create();
    await gpg.exportPublic(ws.path("backup-public.asc"));
    writeFileSync(ws.path("passphrase"), "correct horse battery staple\n");
    const common = { type: "files", paths: [src], exclude: ["*.sock"], schedule: "0 * * * *", rpo: "1h", targets: ["local"] };
    ws.withJobs({
      config: { ...common, compression: "gzip" },
      certificates: { ...common, encrypt: { recipients: [ws.path("backup-public.asc")] } },
      secrets: { ...common, compression: "none", encrypt: { passphrase_file: ws.path("passphrase") } },
    });
  });
  afterAll(async () => {
    await gpg?.remove();
    ws.remove();
  });

  async function backup(job: string) {
    const run = await ws.drctl(["backup", job, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout);
    const dir = join(ws.backupDir, job, outcome.id);
    return { outcome, dir, manifest: JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) };
  }

  async function extractAndCompare(archive: string, entries: ListedEntry[]) {
    const out = ws.path("out", String(Math.random()).slice(2));
    mkdirSync(out, { recursive: true });
    await execa("tar", ["-xf", archive, "-C", out]);
    const base = join(out, src.slice(1));
    expect(readFileSync(join(base, "app.conf"), "utf8")).toBe("listen = 8443\n");
    expect(readlinkSync(join(base, "ca-link"))).toBe("/etc/ssl/certs/ca.pem");
    expect(readlinkSync(join(base, "tls-link"))).toBe("conf.d/tls.conf");
    for (const e of entries.filter((e) => e.type === "file")) {
      expect(sha(readFileSync(join(out, e.path))), e.path).toBe(e.sha256);
    }
    return base;
  }

  it("writes a .tar.gz that GNU tar extracts, symlinks intact, hashes as in the manifest, excludes applied", async () => {
    const { dir, manifest } = await backup("config");
    expect(manifest.artifacts.map((a: { name: string }) => a.name)).toEqual(["files.tar.gz", "files.listing.jsonl.gz"]);
    const entries = await listedEntries(dir);
    expect(manifest.files.entry_count).toBe(entries.length);
    const paths = entries.map((e) => e.path);
    expect(paths.some((p: string) => p.endsWith("agent.sock"))).toBe(false);
    expect(entries.find((e) => e.path.endsWith("server.key"))!.sha256).toBe(sha(Buffer.alloc(3000, 7)));
    await execa("gzip", ["-dk", join(dir, "files.tar.gz")]);
    await extractAndCompare(join(dir, "files.tar"), entries);
  });

  it("encrypts to a public key so that stock gpg decrypts it, recording the recipient fingerprint", async () => {
    const { dir, manifest } = await backup("certificates");
    expect(manifest.artifacts.map((a: { name: string }) => a.name)).toEqual(["files.tar.zst.gpg", "files.listing.jsonl.zst.gpg"]);
    expect(manifest.encryption).toEqual({ method: "public-key", recipients: [gpg.fingerprint] });
    const raw = readFileSync(join(dir, "files.tar.zst.gpg"));
    expect(raw.includes(Buffer.from("listen = 8443"))).toBe(false);
    await gpg.decrypt(join(dir, "files.tar.zst.gpg"), join(dir, "files.tar.zst"));
    await execa("zstd", ["-dq", join(dir, "files.tar.zst")]);
    const entries = await listedEntries(dir, async (path) => {
      await gpg.decrypt(path, `${path}.plain`);
      return readFileSync(`${path}.plain`);
    });
    await extractAndCompare(join(dir, "files.tar"), entries);
  });

  it("stays readable by GnuPG 2.2 when the recipient key advertises AEAD (SEIPDv2)", async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ email: "aead@example.invalid" }],
      format: "armored",
      config: { aeadProtect: true },
    });
    writeFileSync(ws.path("aead-public.asc"), publicKey);
    await gpg.gpg(["--import"], privateKey);
    const config = ws.path("aead.yaml");
    writeFileSync(config, readFileSync(ws.configPath, "utf8").replace(ws.path("backup-public.asc"), ws.path("aead-public.asc")));
    const run = await ws.drctl(["backup", "certificates", "--json"], { config });
    expect(run.exitCode).toBe(0);
    const dir = join(ws.backupDir, "certificates", JSON.parse(run.stdout).id);
    const packets = await gpg.gpg(["--list-packets", join(dir, "files.tar.zst.gpg")]).catch((e) => e);
    expect(Buffer.from(packets.stdout).toString()).toMatch(/:encrypted data packet:\s+length: \w+\s+mdc_method: 2/);
    await gpg.decrypt(join(dir, "files.tar.zst.gpg"), join(dir, "files.tar.zst"));
  });

  it("encrypts with a passphrase file so that stock gpg decrypts it", async () => {
    const { dir, manifest } = await backup("secrets");
    expect(manifest.encryption).toEqual({ method: "passphrase" });
    expect(JSON.stringify(manifest)).not.toContain("horse");
    await gpg.decrypt(join(dir, "files.tar.gpg"), join(dir, "files.tar"), "correct horse battery staple");
    const entries = await listedEntries(dir, async (path) => {
      await gpg.decrypt(path, `${path}.plain`, "correct horse battery staple");
      return readFileSync(`${path}.plain`);
    });
    await extractAndCompare(join(dir, "files.tar"), entries);
  });
});
