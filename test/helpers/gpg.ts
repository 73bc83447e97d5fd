import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

/** A private GnuPG home with one fresh key pair: stock GnuPG 2.2 is the reference reader. */
export class GpgHome {
  readonly home = mkdtempSync(join(tmpdir(), "drd-gpg-"));
  fingerprint = "";

  static async create(): Promise<GpgHome> {
    const g = new GpgHome();
    await g.gpg(["--quick-gen-key", "--passphrase", "", "drd test <drd-test@example.invalid>", "future-default", "default", "never"]);
    const { stdout } = await g.gpg(["--with-colons", "--list-keys"]);
    g.fingerprint = Buffer.from(stdout).toString("utf8").split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
    return g;
  }

  gpg(args: string[], input?: Buffer | string) {
    return execa("gpg", ["--homedir", this.home, "--batch", "--yes", "--pinentry-mode", "loopback", ...args], {
      input,
      encoding: "buffer",
    });
  }

  async exportPublic(path: string): Promise<void> {
    await this.gpg(["--armor", "--output", path, "--export", this.fingerprint]);
  }

  async exportSecret(path: string): Promise<void> {
    await this.gpg(["--armor", "--passphrase", "", "--output", path, "--export-secret-keys", this.fingerprint]);
  }

  /** Decrypts a file with stock gpg into `out`. */
  async decrypt(file: string, out: string, passphrase?: string) {
    const extra = passphrase === undefined ? [] : ["--passphrase", passphrase];
    return this.gpg([...extra, "--output", out, "--decrypt", file]);
  }

  /** Stops every daemon of this home (gpg-agent, keyboxd, dirmngr) and removes it: a test run leaves neither behind. */
  async remove(): Promise<void> {
    await execa("gpgconf", ["--homedir", this.home, "--kill", "all"], { reject: false });
    rmSync(this.home, { recursive: true, force: true });
  }
}
