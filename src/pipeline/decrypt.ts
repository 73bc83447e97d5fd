import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import * as openpgp from "openpgp";
import { IntegrityError, OperationError, UsageError } from "../errors.js";
import { readSecretFile, type EncryptionInfo } from "./encrypt.js";

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
  return { decrypt: (cipher) => decryptStream(cipher, { decryptionKeys: [key] }, info) };
}

async function decryptStream(
  cipher: Readable,
  secret: { passwords: string[] } | { decryptionKeys: openpgp.PrivateKey[] },
  info: EncryptionInfo,
): Promise<Readable> {
  try {
    const message = await openpgp.readMessage({ binaryMessage: Readable.toWeb(cipher) as unknown as ReadableStream<Uint8Array> });
    const { data } = await openpgp.decrypt({ message, ...secret, format: "binary", config: { allowUnauthenticatedStream: true } });
    const plain = Readable.fromWeb(data as unknown as import("node:stream/web").ReadableStream<Uint8Array>);
    // Errors found while streaming (the MDC at the end) are integrity failures too.
    const guarded = new Readable({ read() {} });
    plain.on("data", (chunk: Buffer) => {
      if (!guarded.push(chunk)) plain.pause();
    });
    guarded._read = () => plain.resume();
    plain.on("end", () => guarded.push(null));
    plain.on("error", (err) => guarded.destroy(decryptionError(err, info)));
    guarded.on("close", () => plain.destroy());
    return guarded;
  } catch (err) {
    throw decryptionError(err, info);
  }
}

function decryptionError(err: unknown, info: EncryptionInfo): IntegrityError {
  const why = (err as Error).message ?? String(err);
  const hint = info.method === "public-key" ? ` (the backup is encrypted to ${info.recipients.join(", ")})` : " (wrong passphrase?)";
  return new IntegrityError(`decryption failed: ${why}${/session key|decrypt/i.test(why) ? hint : ""}`);
}
