import { chmod, chown, mkdir, readdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { createNewFile } from "../new-file.js";
import { generateEncryptionKey, generateSigningKey } from "../trust/signing.js";

export interface InitOptions {
  /** Where the config and its keys/ go. */
  dir: string;
  stateDir: string;
  backupDir: string;
  now: Date;
  /** The unprivileged user the daemon runs as: given, init (as root) hands it what it needs. */
  owner?: Owner;
}

/** A user drd runs as, resolved from its name. */
export interface Owner {
  name: string;
  uid: number;
  gid: number;
  /** Its primary group's name. */
  group: string;
}

export interface InitResult {
  config: string;
  recipientPublic: string;
  /** The private half of the encryption key: it belongs off this server. */
  recipientSecret: string;
  recipientFingerprint: string;
  signingSecret: string;
  signingPublic: string;
  signingFingerprint: string;
}

/**
 * `drctl init`: a commented starting config that validates as written (one encrypted files
 * job of /etc to a local target), an encryption key pair for it and a manifest signing key
 * pair. Never replaces a file: every path is created exclusively.
 */
export async function initialize(opts: InitOptions): Promise<InitResult> {
  for (const [flag, path] of [["--dir", opts.dir], ["--state-dir", opts.stateDir], ["--backup-dir", opts.backupDir]] as const)
    if (!path.startsWith("/")) throw new UsageError(`${flag} must be an absolute path, not ${path}`);
  const keys = join(opts.dir, "keys");
  const result: InitResult = {
    config: join(opts.dir, "drd.yaml"),
    recipientPublic: join(keys, "backup-public.asc"),
    recipientSecret: join(keys, "backup-secret.asc"),
    recipientFingerprint: "",
    signingSecret: join(keys, "signing-secret.asc"),
    signingPublic: join(keys, "signing-public.asc"),
    signingFingerprint: "",
  };
  await mkdirTraversable(dirname(opts.dir));
  await mkdir(keys, { recursive: true, mode: 0o700 });
  const [recipient, signing] = await Promise.all([
    generateEncryptionKey(`drd backups (${hostname()})`),
    generateSigningKey(`drd manifest signing (${hostname()})`),
  ]);
  result.recipientFingerprint = recipient.fingerprint;
  result.signingFingerprint = signing.fingerprint;
  // The config first: when it exists, nothing else is written.
  await create(result.config, startingConfig(opts, result), 0o640);
  await create(result.recipientPublic, recipient.publicKey, 0o644);
  await create(result.recipientSecret, recipient.privateKey, 0o600);
  await create(result.signingSecret, signing.privateKey, 0o600);
  await create(result.signingPublic, signing.publicKey, 0o644);
  if (opts.owner) await handOver(opts, result, opts.owner);
  return result;
}

/**
 * What the daemon's user needs, as scripts/install.sh lays it out: the config root's and
 * readable by the user's group (the directory too), the keys the user's alone, the state
 * and backup directories made the user's (0700). An existing directory that is not empty is
 * left as it is: it may hold another install's data.
 */
async function handOver(opts: InitOptions, files: InitResult, owner: Owner): Promise<void> {
  await chown(opts.dir, 0, owner.gid);
  await chmod(opts.dir, 0o750);
  await chown(files.config, 0, owner.gid);
  const keys = join(opts.dir, "keys");
  // Not the private key that decrypts every backup: it stays root's (0600) until it leaves the server.
  for (const path of [keys, files.recipientPublic, files.signingSecret, files.signingPublic]) await chown(path, owner.uid, owner.gid);
  for (const dir of [opts.stateDir, opts.backupDir]) {
    await mkdirTraversable(dirname(dir));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await stat(dir);
    if (st.uid === owner.uid) continue;
    if ((await readdir(dir)).length > 0)
      throw new UsageError(`${dir} is not empty and belongs to uid ${st.uid}: hand it to ${owner.name} yourself (chown -R ${owner.name}: ${dir}) if it is drd's`);
    await chown(dir, owner.uid, owner.gid);
    await chmod(dir, 0o700);
  }
}

/** Makes `dir` and its missing parents 0755, as /etc and /var/lib are (drctl's umask is 077). */
async function mkdirTraversable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await chmod(d, 0o755);
    if (d === first || d === dirname(d)) break;
  }
}

/**
 * The commands that give `user` what it needs, for an init run as root without --user: the
 * daemon refuses root, so the files init wrote as root are not yet usable by it.
 */
export function handOverCommands(opts: Pick<InitOptions, "dir" | "stateDir" | "backupDir">, user: string): string[] {
  return [
    `chgrp ${user} ${opts.dir} ${join(opts.dir, "drd.yaml")} && chmod 0750 ${opts.dir}`,
    `chown ${user}:${user} ${join(opts.dir, "keys")} ${join(opts.dir, "keys", "signing-secret.asc")} ${join(opts.dir, "keys", "signing-public.asc")} ${join(opts.dir, "keys", "backup-public.asc")}`,
    `install -d -m 0700 -o ${user} -g ${user} ${opts.stateDir} ${opts.backupDir}`,
  ];
}

const create = (path: string, text: string, mode: number) =>
  createNewFile(path, text, mode, "drctl init never replaces a file (move it away, or edit the config you have)");

function startingConfig(opts: InitOptions, files: InitResult): string {
  return `# drd configuration, written by \`drctl init\` on ${opts.now.toISOString().slice(0, 10)}.
# config/drd.example.yaml names every option with its default.
# Check it with \`drctl config check\` (add --online to reach servers and buckets).

state_dir: ${opts.stateDir}       # the catalog and the audit trail (0700, owned by the drd user)
timezone: UTC                    # schedules and retention's calendar buckets use this zone

targets:
  local:
    type: local
    path: ${opts.backupDir}       # created 0700
    retention: { keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 }
  # A second copy on other media, off this site: the "2" and the "1" of 3-2-1.
  # offsite:
  #   type: s3
  #   bucket: my-backups
  #   endpoint: https://s3.example.net          # omit for AWS
  #   access_key_id_file: ${opts.dir}/s3-access-key-id
  #   secret_access_key_file: ${opts.dir}/s3-secret-access-key
  #   retention: { max_age: 90d }

# Verified copies, media kinds and offsite copies every backup must reach. With only the
# local target this is all it can ask; once offsite is set: { copies: 2, media: 2, offsite: 1 }.
policy: { copies: 1, media: 1, offsite: 0 }

jobs:
  config:
    type: files
    paths: [/etc]
    skip_unreadable: true        # files drd cannot read are skipped and recorded; give drd a group to read them
    encrypt: { recipients: [${files.recipientPublic}] }
    schedule: "0 * * * *"        # cron, in \`timezone\`
    rpo: 1h                      # the newest backup meeting the policy must be younger than this
    targets: [local]
  # database:
  #   type: postgres
  #   connection: postgresql://drd@localhost/app   # no password here: .pgpass or password_file
  #   schedule: "*/15 * * * *"
  #   rpo: 15m
  #   targets: [local]
  #   encrypt: { recipients: [${files.recipientPublic}] }

# Every manifest is signed, so a backup planted in the storage is refused on restore.
signing: { key_file: ${files.signingSecret} }
`;
}
