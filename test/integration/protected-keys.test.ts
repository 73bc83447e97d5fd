import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GpgHome } from "../helpers/gpg.js";
import { problems, Workspace } from "../helpers/workspace.js";

/**
 * A decryption key kept off the server is best kept under a passphrase. drd unlocks it with
 * the passphrase given (restore --passphrase-file, drill.key_passphrase_file); without it, or
 * with a wrong one, it says so before any download (exit 2), never "damaged".
 */
describe("passphrase-protected decryption keys", () => {
  const ws = new Workspace();
  let gpg: GpgHome;
  const keys: Record<string, { file: string; passphrase: string }> = {};

  beforeAll(async () => {
    gpg = new GpgHome();
    // Protected when gpg made it.
    await gpg.gpg(["--passphrase", "at-creation", "--quick-gen-key", "created <c@example.invalid>", "future-default", "default", "never"]);
    // Made without a passphrase, protected afterwards with gpg --passwd.
    await gpg.gpg(["--passphrase", "", "--quick-gen-key", "later <l@example.invalid>", "future-default", "default", "never"]);
    const later = Buffer.from((await gpg.gpg(["--with-colons", "--list-keys", "l@example.invalid"])).stdout).toString().split("\n").find((l) => l.startsWith("fpr"))!.split(":")[9]!;
    await gpg.gpg(["--passphrase", "added-later", "--passwd", later]);
    for (const [name, who, passphrase] of [["created", "c@example.invalid", "at-creation"], ["passwd", "l@example.invalid", "added-later"]] as const) {
      writeFileSync(ws.path(`${name}-public.asc`), (await gpg.gpg(["--armor", "--export", who])).stdout);
      writeFileSync(ws.path(`${name}-secret.asc`), (await gpg.gpg(["--armor", "--passphrase", passphrase, "--export-secret-keys", who])).stdout, { mode: 0o600 });
      keys[name] = { file: ws.path(`${name}-secret.asc`), passphrase };
    }
    // Partly protected: the primary key unlocked, the encryption subkey locked.
    const { privateKey, publicKey } = await openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name: "partly" }], format: "object" });
    await privateKey.subkeys[0]!.keyPacket.encrypt("subkey-only");
    writeFileSync(ws.path("partly-public.asc"), publicKey.armor());
    writeFileSync(ws.path("partly-secret.asc"), privateKey.armor(), { mode: 0o600 });
    keys.partly = { file: ws.path("partly-secret.asc"), passphrase: "subkey-only" };
    expect(privateKey.isDecrypted()).toBe(true);

    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "tls.key"), "-----BEGIN PRIVATE KEY-----\n");
    for (const [name, { passphrase }] of Object.entries(keys)) writeFileSync(ws.path(`${name}.pass`), `${passphrase}\n`, { mode: 0o600 });
    writeFileSync(ws.path("wrong.pass"), "not-it\n", { mode: 0o600 });
    ws.withJobs(
      Object.fromEntries(
        Object.keys(keys).map((name) => [
          name,
          { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"], encrypt: { recipients: [ws.path(`${name}-public.asc`)] }, drill: { key_file: keys[name]!.file, key_passphrase_file: ws.path(`${name}.pass`) } },
        ]),
      ),
    );
    for (const name of Object.keys(keys)) expect((await ws.drctl(["backup", name])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await gpg?.remove();
    ws.remove();
  });

  for (const name of ["created", "passwd", "partly"]) {
    it(`${name}: without the passphrase, exit 2 naming the key before any download (restore and --dry-run); wrong, exit 2; right, restored`, async () => {
      const key = keys[name]!.file;
      const fingerprint = (await openpgp.readKey({ armoredKey: readFileSync(key, "utf8") })).getFingerprint().toUpperCase();
      for (const extra of [[], ["--dry-run"]]) {
        const run = await ws.drctl(["restore", name, "--key", key, "--to-dir", ws.path(`out-${name}-none`), ...extra]);
        expect(problems(run.stderr)).toBe(`drctl: the key ${fingerprint} in ${key} is protected by a passphrase: give --passphrase-file FILE (the file holding it)`);
        expect(run.exitCode).toBe(2);
      }
      const wrong = await ws.drctl(["restore", name, "--key", key, "--passphrase-file", ws.path("wrong.pass"), "--to-dir", ws.path(`out-${name}-wrong`)]);
      expect(problems(wrong.stderr)).toMatch(new RegExp(`^drctl: the passphrase in ${ws.path("wrong.pass")} does not unlock the key ${fingerprint} in ${key}`));
      expect(wrong.exitCode).toBe(2);
      const right = await ws.drctl(["restore", name, "--key", key, "--passphrase-file", ws.path(`${name}.pass`), "--to-dir", ws.path(`out-${name}`)]);
      expect(problems(right.stderr)).toBe("");
      expect(right.exitCode).toBe(0);
      expect(readFileSync(ws.path(`out-${name}`, "src", "tls.key"), "utf8")).toBe("-----BEGIN PRIVATE KEY-----\n");
    });
  }

  it("drills unlock the key with drill.key_passphrase_file; without it config check and the drill say what to set (exit 2), never damage", async () => {
    const config = ws.configPath;
    const drill = await ws.drctl(["drill", "partly", "--json"]);
    expect(drill.exitCode).toBe(0);
    expect(JSON.parse(drill.stdout).ok).toBe(true);
    expect((await ws.drctl(["config", "check"])).exitCode).toBe(0);

    const without = ws.path("without.yaml");
    writeFileSync(without, readFileSync(config, "utf8").replace(/\n\s*key_passphrase_file: \S+/g, ""));
    const check = await ws.drctl(["config", "check", "--config", without]);
    expect(check.stdout + check.stderr).toContain(`jobs.partly.drill.key_file: the key`);
    expect(check.stdout + check.stderr).toContain("is protected by a passphrase: give drill.key_passphrase_file (the file holding it)");
    expect(check.exitCode).toBe(2);
    const failed = await ws.drctl(["drill", "partly", "--json"], { config: without });
    const outcome = JSON.parse(failed.stdout);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain("is protected by a passphrase: give drill.key_passphrase_file");
    expect(outcome.error).not.toMatch(/damaged|TAR_BAD_ARCHIVE/);
    expect(failed.exitCode).not.toBe(3);
  });
});
