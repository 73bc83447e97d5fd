import { readFile } from "node:fs/promises";
import * as openpgp from "openpgp";
import type { Config } from "../config/schema.js";
import { OperationError, UsageError } from "../errors.js";

/**
 * Manifest signatures: a detached, armored OpenPGP signature over the manifest's exact
 * bytes (`manifest.json.sig`), which `gpg --verify manifest.json.sig manifest.json` checks.
 * The signing key lives on the server (it only vouches for what the server wrote); readers
 * hold its public key in `trust`. Whoever can only write to the storage cannot forge one.
 */
export interface Signer {
  fingerprint: string;
  sign(text: string): Promise<string>;
}

export async function loadSigner(keyFile: string): Promise<Signer> {
  const key = await readKeyFile(keyFile, "signing.key_file");
  if (!key.isPrivate()) throw new UsageError(`signing.key_file ${keyFile} holds a public key; it needs the private signing key (drctl keys init makes one)`);
  const secret = key as openpgp.PrivateKey;
  if (!secret.isDecrypted()) throw new UsageError(`the signing key in ${keyFile} is protected by a passphrase; drd signs unattended and needs it unprotected (0600, readable by drd only)`);
  await secret.getSigningKey().catch((err: Error) => {
    throw new UsageError(`the key in ${keyFile} cannot sign: ${err.message}`);
  });
  return {
    fingerprint: secret.getFingerprint().toUpperCase(),
    sign: async (text) =>
      (await openpgp.sign({ message: await openpgp.createMessage({ binary: Buffer.from(text, "utf8") }), signingKeys: secret, detached: true, format: "armored" })) as string,
  };
}

export type SignatureCheck = { ok: true; signer: string } | { ok: false; reason: string };

/** The public keys whose signatures readers accept. */
export class TrustStore {
  private constructor(private readonly keys: openpgp.PublicKey[]) {}

  /**
   * `trust` lists public key files, or fingerprints of keys given elsewhere (the server's
   * own signing key). Without `trust`, the server's signing key is trusted.
   */
  static async load(config: Pick<Config, "trust" | "signing">): Promise<TrustStore> {
    const own = config.signing ? (await readKeyFile(config.signing.key_file, "signing.key_file")).toPublic() : undefined;
    if (!config.trust) return new TrustStore(own ? [own] : []);
    const keys: openpgp.PublicKey[] = [];
    for (const entry of config.trust) {
      if (entry.startsWith("/")) {
        keys.push((await readKeyFile(entry, "trust")).toPublic());
        continue;
      }
      const wanted = entry.replace(/\s+/g, "").toUpperCase();
      if (own?.getFingerprint().toUpperCase() !== wanted) throw new UsageError(`trust: no public key for fingerprint ${wanted}: list its public key file instead`);
      keys.push(own);
    }
    return new TrustStore(keys);
  }

  get empty(): boolean {
    return this.keys.length === 0;
  }

  async check(text: string, armoredSignature: string | undefined): Promise<SignatureCheck> {
    if (armoredSignature === undefined) return { ok: false, reason: "its manifest is not signed" };
    if (this.keys.length === 0) return { ok: false, reason: "no signing key is trusted here (set trust: in the config)" };
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature });
    } catch (err) {
      return { ok: false, reason: `its signature cannot be read: ${(err as Error).message}` };
    }
    try {
      const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: Buffer.from(text, "utf8") }), signature, verificationKeys: this.keys });
      for (const s of result.signatures) {
        const valid = await s.verified.then(() => true, () => false);
        const key = this.keys.find((k) => k.getKeys(s.keyID).length > 0);
        if (valid && key) return { ok: true, signer: key.getFingerprint().toUpperCase() };
      }
      const ids = result.signatures.map((s) => s.keyID.toHex().toUpperCase()).join(", ");
      const known = result.signatures.some((s) => this.keys.some((k) => k.getKeys(s.keyID).length > 0));
      return { ok: false, reason: known ? "its signature does not match the manifest (the manifest was changed)" : `it is signed by key ${ids}, which is not trusted here` };
    } catch (err) {
      return { ok: false, reason: `its signature does not verify: ${(err as Error).message}` };
    }
  }
}

async function readKeyFile(path: string, what: string): Promise<openpgp.Key> {
  let armored: string;
  try {
    armored = await readFile(path, "utf8");
  } catch (err) {
    throw new OperationError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    return await openpgp.readKey({ armoredKey: armored });
  } catch (err) {
    throw new UsageError(`${what}: ${path} holds no OpenPGP key: ${(err as Error).message}`);
  }
}

export interface NewKeyPair {
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

/** A new signing key pair (Ed25519, readable by GnuPG 2.2). */
export function generateSigningKey(name: string): Promise<NewKeyPair> {
  return generateKeyPair(name, { subkeys: [] });
}

/**
 * A new encryption key pair for `encrypt.recipients` (Curve25519 with an encryption subkey,
 * readable by GnuPG 2.2). The server keeps only the public half.
 */
export function generateEncryptionKey(name: string): Promise<NewKeyPair> {
  return generateKeyPair(name, {});
}

/** Without `subkeys`, openpgp.js adds one encryption subkey; `subkeys: []` leaves a signing-only primary key. */
async function generateKeyPair(name: string, shape: { subkeys?: [] }): Promise<NewKeyPair> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name }], ...shape, format: "armored" });
  const key = await openpgp.readKey({ armoredKey: publicKey });
  return { privateKey, publicKey, fingerprint: key.getFingerprint().toUpperCase() };
}
