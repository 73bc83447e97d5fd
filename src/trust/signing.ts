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

/** What a signature vouches for: a backup (or a job's head) of `job` on `target`, made at `at` (ms). */
export interface SignedFor {
  job: string;
  target: string;
  at: number;
}

/** A trusted key and the limits on what it may sign for (none: every job, any time). */
interface TrustedKey {
  key: openpgp.PublicKey;
  fingerprint: string;
  jobs: string[] | undefined;
  targets: string[] | undefined;
  from: number | undefined;
  until: number | undefined;
}

/** The public keys whose signatures readers accept, each for the jobs and the time the config gives it. */
export class TrustStore {
  private constructor(private readonly keys: TrustedKey[]) {}

  /**
   * `trust` lists public key files, or fingerprints of keys given elsewhere (the server's
   * own signing key), each on its own or with limits (jobs, from, until). Without `trust`,
   * the server's signing key is trusted.
   */
  static async load(config: Pick<Config, "trust" | "signing">): Promise<TrustStore> {
    const own = config.signing ? (await readKeyFile(config.signing.key_file, "signing.key_file")).toPublic() : undefined;
    const entry = (key: openpgp.PublicKey, limits: { jobs?: string[]; targets?: string[]; from?: number; until?: number } = {}): TrustedKey => ({
      key,
      fingerprint: key.getFingerprint().toUpperCase(),
      jobs: limits.jobs,
      targets: limits.targets,
      from: limits.from,
      until: limits.until,
    });
    if (!config.trust) return new TrustStore(own ? [entry(own)] : []);
    const keys: TrustedKey[] = [];
    for (const item of config.trust) {
      const { key: ref, ...limits } = typeof item === "string" ? { key: item } : item;
      if (ref.startsWith("/")) {
        keys.push(entry((await readKeyFile(ref, "trust")).toPublic(), limits));
        continue;
      }
      const wanted = ref.replace(/\s+/g, "").toUpperCase();
      if (!own || own.getFingerprint().toUpperCase() !== wanted) throw new UsageError(`trust: no public key for fingerprint ${wanted}: list its public key file instead`);
      keys.push(entry(own, limits));
    }
    return new TrustStore(keys);
  }

  get empty(): boolean {
    return this.keys.length === 0;
  }

  async check(text: string, armoredSignature: string | undefined, scope: SignedFor): Promise<SignatureCheck> {
    if (armoredSignature === undefined) return { ok: false, reason: "its manifest is not signed" };
    if (this.keys.length === 0) return { ok: false, reason: "no signing key is trusted here (set trust: in the config)" };
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature });
    } catch (err) {
      return { ok: false, reason: `its signature cannot be read: ${(err as Error).message}` };
    }
    const keys = [...new Map(this.keys.map((k) => [k.fingerprint, k.key])).values()];
    try {
      const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: Buffer.from(text, "utf8") }), signature, verificationKeys: keys });
      let refusal: string | undefined;
      for (const s of result.signatures) {
        const valid = await s.verified.then(() => true, () => false);
        const entries = this.keys.filter((k) => k.key.getKeys(s.keyID).length > 0);
        if (!valid || entries.length === 0) continue;
        if (entries.some((e) => allows(e, scope))) return { ok: true, signer: entries[0]!.fingerprint };
        refusal = limitsOf(entries[0]!.fingerprint, entries, scope);
      }
      if (refusal) return { ok: false, reason: refusal };
      const ids = result.signatures.map((s) => s.keyID.toHex().toUpperCase()).join(", ");
      const known = result.signatures.some((s) => this.keys.some((k) => k.key.getKeys(s.keyID).length > 0));
      return { ok: false, reason: known ? "its signature does not match the manifest (the manifest was changed)" : `it is signed by key ${ids}, which is not trusted here` };
    } catch (err) {
      return { ok: false, reason: `its signature does not verify: ${(err as Error).message}` };
    }
  }
}

function allows(k: TrustedKey, scope: SignedFor): boolean {
  return (!k.jobs || k.jobs.includes(scope.job)) && (!k.targets || k.targets.includes(scope.target)) && (k.from === undefined || scope.at >= k.from) && (k.until === undefined || scope.at < k.until);
}

/** Why a valid signature by a trusted key does not count here: the limits the config gives that key. */
function limitsOf(fingerprint: string, entries: TrustedKey[], scope: SignedFor): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const each = entries.map((k) =>
    [k.jobs ? `jobs ${k.jobs.join(", ")}` : "", k.targets ? `targets ${k.targets.join(", ")}` : "", k.from !== undefined ? `backups made from ${iso(k.from)}` : "", k.until !== undefined ? `backups made before ${iso(k.until)}` : ""].filter(Boolean).join(", "),
  );
  return `it is signed by key ${fingerprint}, which is trusted here only for ${each.join("; or ")}, not for job ${scope.job} on ${scope.target} made at ${iso(scope.at)} (a genuine backup of another server, copied here, or signed by a retired key)`;
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
