import { initialize } from "../../app/init.js";
import type { Output } from "../io.js";
import type { InitOutput } from "../json-output.js";
import { json } from "../render.js";

/** `drctl init [--dir DIR]`: a starting config and its keys, then what to do next. */
export async function initCommand(io: Output, opts: { dir: string; stateDir: string; backupDir: string; json?: boolean }): Promise<number> {
  const r = await initialize({ dir: opts.dir, stateDir: opts.stateDir, backupDir: opts.backupDir, now: new Date() });
  if (opts.json) {
    const out: InitOutput = {
      config: r.config,
      recipient: { fingerprint: r.recipientFingerprint, public_key: r.recipientPublic, private_key: r.recipientSecret },
      signing: { fingerprint: r.signingFingerprint, public_key: r.signingPublic, private_key: r.signingSecret },
    };
    io.out(json(out));
    return 0;
  }
  io.out(
    [
      `wrote ${r.config}: one files job (/etc, hourly, encrypted, signed) to ${opts.backupDir}`,
      `  ${r.recipientPublic}  the encryption key (${r.recipientFingerprint}); backups are encrypted to it`,
      `  ${r.signingSecret}  (0600) the manifest signing key (${r.signingFingerprint}); it stays here`,
      `  ${r.signingPublic}  its public half, for restore and drill hosts (trust: [...])`,
      `  ${r.recipientSecret}  (0600) the private key that decrypts every backup`,
    ].join("\n"),
  );
  io.err(
    `drctl: warning: move ${r.recipientSecret} off this server now: whoever holds it reads every backup, and a server that holds it protects nothing. Keep it with your recovery papers and on the hosts that restore or drill (--key FILE, drill.key_file).`,
  );
  io.out(
    [
      "",
      "next:",
      `  1. move ${r.recipientSecret} off this server (see the warning above)`,
      `  2. edit ${r.config}: your jobs, and an offsite target for 3-2-1`,
      `  3. drctl --config ${r.config} config check --online`,
      "  4. systemctl enable --now drd   (or try one now: drctl backup config)",
    ].join("\n"),
  );
  return 0;
}
