import { readFile } from "node:fs/promises";
import { pipeline, type Readable } from "node:stream";
import * as openpgp from "openpgp";
import { IntegrityError, OperationError, UsageError } from "../errors.js";
import { readSecretFile } from "../secret-file.js";
import type { EncryptionInfo } from "./encrypt.js";
import { MessageDecryptStream } from "./openpgp/message.js";
import { isSessionAlgorithm, type SessionKey } from "./openpgp/seipd.js";

export interface DecryptionSecret {
  keyFile?: string | undefined;
  passphraseFile?: string | undefined;
}

export interface Decryptor {
  decrypt(cipher: Readable): Promise<Readable>;
}

/**
 * Decrypts OpenPGP messages as a stream, so memory stays flat whatever the size. The
 * plaintext is released before the message's integrity check (MDC) at its end: callers
 * only decrypt data whose sha256 already matched the record, and treat a late error as
 * a failed restore (they remove what they wrote).
 */
export async function createDecryptor(info: EncryptionInfo, secret: DecryptionSecret): Promise<Decryptor> {
  if (info.method === "passphrase") {
    if (!secret.passphraseFile) throw new UsageError("this backup is encrypted with a passphrase: give --passphrase-file FILE");
    const passphrase = await readSecretFile(secret.passphraseFile, "passphrase");
    return { decrypt: (cipher) => decryptStream(cipher, { passwords: [passphrase] }, info) };
  }
  if (!secret.keyFile) throw new UsageError(`this backup is encrypted to ${info.recipients.join(", ")}: give --key FILE with a private key`);
  let armored: string;
  try {
    armored = await readFile(secret.keyFile, "utf8");
  } catch (err) {
    throw new OperationError(`cannot read key ${secret.keyFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw new UsageError(`${secret.keyFile} holds no usable private key: ${(err as Error).message}`);
  }
  if (!key.isDecrypted()) throw new UsageError(`the private key in ${secret.keyFile} is protected by a passphrase; export an unprotected copy for restores`);
  // Checked before any download: a wrong key would otherwise look like a damaged archive.
  const fingerprints = key.getKeys().map((k) => k.getFingerprint().toUpperCase());
  if (!fingerprints.some((f) => info.recipients.includes(f))) {
    throw new IntegrityError(`the key in ${secret.keyFile} (${fingerprints[0]}) cannot decrypt this backup: it is encrypted to ${info.recipients.join(", ")}; give the private key of one of those`);
  }
  return { decrypt: (cipher) => decryptStream(cipher, { decryptionKeys: [key] }, info) };
}

/** openpgp.js opens the session key packets; MessageDecryptStream decrypts the data. */
async function decryptStream(
  cipher: Readable,
  secret: { passwords: string[] } | { decryptionKeys: openpgp.PrivateKey[] },
  info: EncryptionInfo,
): Promise<Readable> {
  const unlock = async (sessionKeyPackets: Buffer): Promise<SessionKey> => {
    const packets = await openpgp.PacketList.fromBinary(sessionKeyPackets, SESSION_KEY_PACKETS);
    const [found] = await openpgp.decryptSessionKeys({ message: new openpgp.Message(packets), ...secret });
    if (!found?.algorithm || !isSessionAlgorithm(found.algorithm)) throw new Error(`unsupported session cipher ${found?.algorithm ?? "(none)"}`);
    return { algorithm: found.algorithm, key: found.data };
  };
  // pipeline, not pipe: a failure on either side ends the other.
  return pipeline(cipher, new MessageDecryptStream(unlock, (err) => decryptionError(err, info)), () => undefined);
}

// openpgp.js looks packet classes up by tag in a plain object (its typings say Map).
const SESSION_KEY_PACKETS = {
  [openpgp.PublicKeyEncryptedSessionKeyPacket.tag]: openpgp.PublicKeyEncryptedSessionKeyPacket,
  [openpgp.SymEncryptedSessionKeyPacket.tag]: openpgp.SymEncryptedSessionKeyPacket,
} as unknown as Parameters<typeof openpgp.PacketList.fromBinary>[1];

function decryptionError(err: unknown, info: EncryptionInfo): IntegrityError {
  const why = (err as Error).message ?? String(err);
  const hint = info.method === "public-key" ? ` (the backup is encrypted to ${info.recipients.join(", ")})` : " (wrong passphrase?)";
  return new IntegrityError(`decryption failed: ${why}${/session key|decrypt/i.test(why) ? hint : ""}`);
}
