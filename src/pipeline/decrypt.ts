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
  /** The symmetric passphrase, or the one that unlocks `keyFile` when that key is protected. */
  passphraseFile?: string | undefined;
  /** How the user gives that passphrase, for messages (default --passphrase-file). */
  passphraseFlag?: string;
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
    // GnuPG 2.4 protects secret keys with AEAD (S2K usage 253) by default.
    key = await openpgp.readPrivateKey({ armoredKey: armored, config: { parseAEADEncryptedV4KeysAsLegacy: true } });
  } catch (err) {
    throw new UsageError(`${secret.keyFile} holds no usable private key: ${(err as Error).message}`);
  }
  // Checked before any download: a wrong key would otherwise look like a damaged archive.
  const fingerprints = key.getKeys().map((k) => k.getFingerprint().toUpperCase());
  if (!fingerprints.some((f) => info.recipients.includes(f))) {
    throw new IntegrityError(`the key in ${secret.keyFile} (${fingerprints[0]}) cannot decrypt this backup: it is encrypted to ${info.recipients.join(", ")}; give the private key of one of those`);
  }
  const unlocked = await unlockDecryptionKeys(key, secret);
  return { decrypt: (cipher) => decryptStream(cipher, { decryptionKeys: [unlocked] }, info) };
}

/**
 * The key with the subkeys that decrypt unlocked. Those are judged one by one: a key can be
 * partly protected (`gpg --passwd` on one subkey), and one unlocked packet says nothing of
 * the others. A protected key without its passphrase, or with a wrong one, is a usage error
 * (exit 2) named before any download, never a "damaged" backup.
 */
export async function unlockDecryptionKeys(key: openpgp.PrivateKey, secret: DecryptionSecret): Promise<openpgp.PrivateKey> {
  const fingerprint = key.getFingerprint().toUpperCase();
  const decrypting = await key.getDecryptionKeys().catch((err: Error) => {
    throw new UsageError(`the key ${fingerprint} in ${secret.keyFile} has no key that decrypts: ${err.message}`);
  });
  const locked = decrypting.filter((k) => !k.keyPacket.isDecrypted());
  if (locked.length === 0) return key;
  if (!secret.passphraseFile)
    throw new UsageError(`the key ${fingerprint} in ${secret.keyFile} is protected by a passphrase: give ${secret.passphraseFlag ?? "--passphrase-file FILE"} (the file holding it)`);
  const passphrase = await readSecretFile(secret.passphraseFile, "key passphrase");
  // The key was read for this restore alone: its packets are unlocked in place.
  for (const k of locked) {
    try {
      await (k.keyPacket as openpgp.SecretSubkeyPacket).decrypt(passphrase);
    } catch (err) {
      throw new UsageError(`the passphrase in ${secret.passphraseFile} does not unlock the key ${fingerprint} in ${secret.keyFile}: ${(err as Error).message}`);
    }
  }
  return key;
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
