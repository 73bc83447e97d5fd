import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  OperationError,
  UsageError
} from "./chunk-RSPIC3EP.js";
import {
  createMessage,
  generateKey,
  readKey,
  readSignature,
  sign,
  verify
} from "./chunk-4KX4PRKL.js";

// dist/trust/signing.js
import { readFile } from "node:fs/promises";
async function loadSigner(keyFile) {
  const key = await readKeyFile(keyFile, "signing.key_file");
  if (!key.isPrivate())
    throw new UsageError(`signing.key_file ${keyFile} holds a public key; it needs the private signing key (drctl keys init makes one)`);
  const secret = key;
  if (!secret.isDecrypted())
    throw new UsageError(`the signing key in ${keyFile} is protected by a passphrase; drd signs unattended and needs it unprotected (0600, readable by drd only)`);
  await secret.getSigningKey().catch((err) => {
    throw new UsageError(`the key in ${keyFile} cannot sign: ${err.message}`);
  });
  return {
    fingerprint: secret.getFingerprint().toUpperCase(),
    sign: async (text) => await sign({ message: await createMessage({ binary: Buffer.from(text, "utf8") }), signingKeys: secret, detached: true, format: "armored" })
  };
}
var TrustStore = class _TrustStore {
  keys;
  constructor(keys) {
    this.keys = keys;
  }
  /**
   * `trust` lists public key files, or fingerprints of keys given elsewhere (the server's
   * own signing key). Without `trust`, the server's signing key is trusted.
   */
  static async load(config) {
    const own = config.signing ? (await readKeyFile(config.signing.key_file, "signing.key_file")).toPublic() : void 0;
    if (!config.trust)
      return new _TrustStore(own ? [own] : []);
    const keys = [];
    for (const entry of config.trust) {
      if (entry.startsWith("/")) {
        keys.push((await readKeyFile(entry, "trust")).toPublic());
        continue;
      }
      const wanted = entry.replace(/\s+/g, "").toUpperCase();
      if (own?.getFingerprint().toUpperCase() !== wanted)
        throw new UsageError(`trust: no public key for fingerprint ${wanted}: list its public key file instead`);
      keys.push(own);
    }
    return new _TrustStore(keys);
  }
  get empty() {
    return this.keys.length === 0;
  }
  async check(text, armoredSignature) {
    if (armoredSignature === void 0)
      return { ok: false, reason: "its manifest is not signed" };
    if (this.keys.length === 0)
      return { ok: false, reason: "no signing key is trusted here (set trust: in the config)" };
    let signature;
    try {
      signature = await readSignature({ armoredSignature });
    } catch (err) {
      return { ok: false, reason: `its signature cannot be read: ${err.message}` };
    }
    try {
      const result = await verify({ message: await createMessage({ binary: Buffer.from(text, "utf8") }), signature, verificationKeys: this.keys });
      for (const s of result.signatures) {
        const valid = await s.verified.then(() => true, () => false);
        const key = this.keys.find((k) => k.getKeys(s.keyID).length > 0);
        if (valid && key)
          return { ok: true, signer: key.getFingerprint().toUpperCase() };
      }
      const ids = result.signatures.map((s) => s.keyID.toHex().toUpperCase()).join(", ");
      const known = result.signatures.some((s) => this.keys.some((k) => k.getKeys(s.keyID).length > 0));
      return { ok: false, reason: known ? "its signature does not match the manifest (the manifest was changed)" : `it is signed by key ${ids}, which is not trusted here` };
    } catch (err) {
      return { ok: false, reason: `its signature does not verify: ${err.message}` };
    }
  }
};
async function readKeyFile(path, what) {
  let armored;
  try {
    armored = await readFile(path, "utf8");
  } catch (err) {
    throw new OperationError(`${what}: cannot read ${path}: ${err.code ?? err}`);
  }
  try {
    return await readKey({ armoredKey: armored });
  } catch (err) {
    throw new UsageError(`${what}: ${path} holds no OpenPGP key: ${err.message}`);
  }
}
function generateSigningKey(name) {
  return generateKeyPair(name, { subkeys: [] });
}
function generateEncryptionKey(name) {
  return generateKeyPair(name, {});
}
async function generateKeyPair(name, shape) {
  const { privateKey, publicKey } = await generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name }], ...shape, format: "armored" });
  const key = await readKey({ armoredKey: publicKey });
  return { privateKey, publicKey, fingerprint: key.getFingerprint().toUpperCase() };
}

export {
  loadSigner,
  TrustStore,
  generateSigningKey,
  generateEncryptionKey
};
