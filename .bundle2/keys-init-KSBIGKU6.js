import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  createNewFile
} from "./chunk-AFUDJHUB.js";
import {
  generateSigningKey
} from "./chunk-IYRTIMZK.js";
import {
  UsageError
} from "./chunk-RSPIC3EP.js";
import "./chunk-4KX4PRKL.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/keys-init.js
import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
async function keysInitCommand(io, dir) {
  if (!dir.startsWith("/"))
    throw new UsageError("--dir must be an absolute path");
  await mkdir(dir, { recursive: true, mode: 448 });
  const key = await generateSigningKey(`drd manifest signing (${hostname()})`);
  const secretPath = join(dir, "signing-secret.asc");
  const publicPath = join(dir, "signing-public.asc");
  const write = (path, text, mode) => createNewFile(path, text, mode, "drd never replaces a key (move it away first)");
  await write(secretPath, key.privateKey, 384);
  await write(publicPath, key.publicKey, 420);
  io.out([
    `signing key ${key.fingerprint}`,
    `  ${secretPath}  (0600) the private key: stays on this server, readable by drd only; it signs manifests and decrypts nothing`,
    `  ${publicPath}  the public key: copy it to every machine that restores or drills (and keep a copy with your recovery papers)`,
    "",
    "in the config on this server:",
    `  signing: { key_file: ${secretPath} }`,
    "on a restore or drill host (same config, or at least):",
    `  trust: [${publicPath}]`,
    "",
    "unlike the encryption key, whose private half belongs off this server, the signing key is",
    "on it by design: it proves a backup was written by this server, not planted in the storage."
  ].join("\n"));
  return 0;
}
export {
  keysInitCommand
};
