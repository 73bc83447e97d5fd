import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { inject } from "vitest";

/** Makes the signing key pair of a test run (global setup). */
export async function createSigningKeys(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "drd-test-keys-"));
  const { privateKey, publicKey } = await openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name: "drd test signing" }], subkeys: [], format: "armored" });
  writeFileSync(join(dir, "signing-secret.asc"), privateKey, { mode: 0o600 });
  writeFileSync(join(dir, "signing-public.asc"), publicKey);
  return dir;
}

export function signingKeyFiles(): { secret: string; public: string } {
  const dir = inject("signingKeyDir");
  return { secret: join(dir, "signing-secret.asc"), public: join(dir, "signing-public.asc") };
}

/** Signs a manifest file as drd does (detached, armored, over its bytes) with `keyFile` (default: the run's key). */
export async function signManifestFile(path: string, keyFile = signingKeyFiles().secret): Promise<void> {
  const key = await openpgp.readPrivateKey({ armoredKey: readFileSync(keyFile, "utf8") });
  const signature = await openpgp.sign({ message: await openpgp.createMessage({ binary: readFileSync(path) }), signingKeys: key, detached: true, format: "armored" });
  writeFileSync(`${path}.sig`, signature as string);
}
