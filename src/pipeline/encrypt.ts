import { readFile } from "node:fs/promises";
import { pipeline, type Readable } from "node:stream";
import * as openpgp from "openpgp";
import type { EncryptConfig } from "../config/schema.js";
import { OperationError } from "../errors.js";
import { readSecretFile } from "../secret-file.js";
import { isSessionAlgorithm, SeipdEncryptStream } from "./openpgp/seipd.js";

import type { EncryptionInfo } from "../manifest.js";

/** What a manifest records of how an artifact was encrypted: never the secret. */
export type { EncryptionInfo };

export interface Encryptor {
  info: EncryptionInfo;
  encrypt(plain: Readable): Promise<Readable>;
}

const GPG_COMPATIBLE: Partial<openpgp.Config> = {
  // SEIPDv1 with MDC: GnuPG 2.2 cannot read AEAD (SEIPDv2) messages.
  aeadProtect: false,
  // The data is compressed already (or the operator chose not to).
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
};

/**
 * openpgp.js picks SEIPDv2 when every recipient key advertises it, whatever `aeadProtect`
 * says; drd's artifacts must stay readable by GnuPG 2.2, so that feature flag is cleared
 * on the in-memory copy of each recipient key (the key file is not touched).
 */
const SEIPDV2_FEATURE = 0x08;
function withoutSeipdV2(key: openpgp.PublicKey): openpgp.PublicKey {
  const direct = (key as unknown as { directSignatures?: openpgp.SignaturePacket[] }).directSignatures ?? [];
  for (const sig of [...direct, ...key.users.flatMap((u) => u.selfCertifications)]) {
    if (sig.features?.[0] !== undefined) sig.features[0] &= ~SEIPDV2_FEATURE;
  }
  return key;
}

export async function readPublicKeys(paths: string[]): Promise<openpgp.PublicKey[]> {
  return Promise.all(
    paths.map(async (path) => {
      let armored: string;
      try {
        armored = await readFile(path, "utf8");
      } catch (err) {
        throw new OperationError(`cannot read public key ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
      try {
        const key = await openpgp.readKey({ armoredKey: armored });
        if (key.isPrivate()) throw new Error("it holds a private key; give the public key only");
        await key.getEncryptionKey();
        return withoutSeipdV2(key.toPublic());
      } catch (err) {
        throw new OperationError(`public key ${path} is not usable: ${(err as Error).message}`);
      }
    }),
  );
}


export async function createEncryptor(config: EncryptConfig): Promise<Encryptor> {
  if ("recipients" in config) {
    const keys = await readPublicKeys(config.recipients);
    return {
      info: { method: "public-key", recipients: keys.map((k) => k.getFingerprint().toUpperCase()) },
      encrypt: (plain) => encryptStream(plain, { encryptionKeys: keys }),
    };
  }
  const passphrase = await readSecretFile(config.passphrase_file, "passphrase");
  return { info: { method: "passphrase" }, encrypt: (plain) => encryptStream(plain, { passwords: [passphrase] }) };
}

/**
 * openpgp.js makes the session key and its packets (public-key or passphrase); the data
 * itself is encrypted by SeipdEncryptStream, with node:crypto on node streams.
 */
async function encryptStream(
  plain: Readable,
  to: { encryptionKeys: openpgp.PublicKey[] } | { passwords: string[] },
): Promise<Readable> {
  const encryptionKeys = "encryptionKeys" in to ? to.encryptionKeys : [];
  const session = await openpgp.generateSessionKey({ encryptionKeys, config: GPG_COMPATIBLE });
  if (!isSessionAlgorithm(session.algorithm)) throw new OperationError(`the recipient keys prefer cipher ${session.algorithm}; drd encrypts with AES`);
  const sessionPackets = await openpgp.encryptSessionKey({ ...session, ...to, format: "binary", config: GPG_COMPATIBLE });
  const encrypt = new SeipdEncryptStream({ algorithm: session.algorithm, key: session.data }, Buffer.from(sessionPackets));
  // pipeline, not pipe: a failure on either side ends the other.
  return pipeline(plain, encrypt, () => undefined);
}
