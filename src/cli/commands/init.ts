import { execa } from "execa";
import { handOverCommands, initialize, type Owner } from "../../app/init.js";
import { UsageError } from "../../errors.js";
import type { Output } from "../io.js";
import type { InitOutput } from "../json-output.js";
import { json } from "../render.js";

/** The user `name`, for --user: init hands it the files, so it must exist and init must be root. */
async function owner(name: string): Promise<Owner> {
  if (process.getuid?.() !== 0) throw new UsageError(`--user ${name}: only root can hand files to another user; run init as that user instead, or as root`);
  const id = async (flag: string) => {
    const r = await execa("id", [flag, "--", name], { reject: false, timeout: 10_000 });
    if (r.exitCode !== 0) throw new UsageError(`--user ${name}: no such user (scripts/install.sh creates drd; or: useradd --system --user-group ${name})`);
    return r.stdout;
  };
  return { name, uid: Number(await id("-u")), gid: Number(await id("-g")), group: await id("-gn") };
}

/** `drctl init [--dir DIR] [--user NAME]`: a starting config and its keys, then what to do next. */
export async function initCommand(io: Output, opts: { dir: string; stateDir: string; backupDir: string; user?: string; json?: boolean }): Promise<number> {
  const user = opts.user === undefined ? undefined : await owner(opts.user);
  const r = await initialize({ dir: opts.dir, stateDir: opts.stateDir, backupDir: opts.backupDir, now: new Date(), ...(user ? { owner: user } : {}) });
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
  // drd refuses root: as root, the files must reach the daemon's user before anything runs.
  const asRoot = process.getuid?.() === 0;
  const runAs = user ? `runuser -u ${user.name} -- ` : asRoot ? "runuser -u drd -- " : "";
  if (user) io.out(`\ngave ${user.name} the keys, ${opts.stateDir} and ${opts.backupDir} (0700), and read access to the config (root:${user.group} 0640)`);
  io.out(
    [
      "",
      "next:",
      `  1. move ${r.recipientSecret} off this server (see the warning above)`,
      ...(asRoot && !user
        ? [
            "  2. drd runs as an unprivileged user and refuses root; these files are root's. For the user drd",
            "     (scripts/install.sh creates it; or: useradd --system --user-group drd), run these",
            "     (or move these files away and run init again with --user drd to have it done):",
            ...handOverCommands(opts, "drd").map((c) => `       ${c}`),
          ]
        : []),
      `  ${asRoot && !user ? 3 : 2}. edit ${r.config}: your jobs, and an offsite target for 3-2-1`,
      `  ${asRoot && !user ? 4 : 3}. ${runAs}drctl --config ${r.config} config check --online`,
      `  ${asRoot && !user ? 5 : 4}. systemctl enable --now drd   (or try one now: ${runAs}drctl --config ${r.config} backup config)`,
    ].join("\n"),
  );
  return 0;
}
