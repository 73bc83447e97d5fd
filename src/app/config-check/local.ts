import { readFile } from "node:fs/promises";
import { readFileSync, statSync, type Stats } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import type { Config } from "../../config/schema.js";
import { accessProblem, permits, type Principal } from "../../config/access.js";
import type { FilesJobConfig } from "../../config/schema.js";
import { walk } from "../../sources/walk.js";
import { dutiesOf } from "../../policy/role.js";
import type { Findings } from "./findings.js";
import { unlockDecryptionKeys } from "../../pipeline/decrypt.js";
import { auditPath } from "../audit.js";

/**
 * What `drctl config check` checks without touching the network: every path the config
 * names exists and is usable by the user drd runs as (sources readable, the state dir and
 * local targets writable), secret files are not readable by others, and key files hold the
 * kind of key their place needs. Each problem names its config path.
 */
export async function checkLocal(config: Config, who: Principal, findings: Findings): Promise<void> {
  const openpgp = await import("openpgp");

  // Secrets: readable by drd, by nobody else.
  /** Whether drd can read it; a mode that lets others in is a problem too. */
  const secret = (path: string | undefined, at: string): boolean => {
    if (!path) return false;
    const denied = accessProblem(path, "read", who);
    if (denied) {
      findings.problem(at, `cannot read ${path}: ${denied}`);
      return false;
    }
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o037)
      findings.problem(at, `${path} is mode ${mode.toString(8).padStart(4, "0")}: it holds a secret others can ${mode & 0o007 ? "read" : "change"} (chmod 0600 ${path}, or 0640 for a group that needs it)`);
    return true;
  };
  for (const [name, t] of Object.entries(config.targets)) {
    if (t.type === "s3") {
      secret(t.access_key_id_file, `targets.${name}.access_key_id_file`);
      secret(t.secret_access_key_file, `targets.${name}.secret_access_key_file`);
    }
  }
  config.alerts.forEach((a, i) => {
    if (a.type === "webhook") {
      secret(a.headers_file, `alerts[${i}].headers_file`);
      secret(a.secret_file, `alerts[${i}].secret_file`);
    }
    if (a.type === "email") secret(a.smtp.password_file, `alerts[${i}].smtp.password_file`);
  });

  // Keys: each file holds the kind of key its place needs.
  const readArmored = async (path: string, at: string): Promise<string | undefined> => {
    const denied = accessProblem(path, "read", who);
    if (denied) return void findings.problem(at, `cannot read ${path}: ${denied}`);
    return readFile(path, "utf8");
  };
  const privateKey = async (path: string | undefined, at: string, use: "sign" | "decrypt") => {
    // An unreadable key is reported once, by secret().
    if (!secret(path, at)) return undefined;
    const armored = await readFile(path!, "utf8");
    try {
      const key = await openpgp.readPrivateKey({ armoredKey: armored, config: { parseAEADEncryptedV4KeysAsLegacy: true } });
      // Signing is unattended: that key must be unprotected. A decryption key is judged below, with its passphrase.
      if (use === "sign" && !key.isDecrypted()) return void findings.problem(at, `the private key in ${path} is protected by a passphrase; drd signs unattended and needs it unprotected`);
      await (use === "sign" ? key.getSigningKey() : key.getDecryptionKeys());
      return key;
    } catch (err) {
      findings.problem(at, `${path} holds no private key that can ${use}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const publicKey = async (path: string, at: string, use: "encrypt" | "verify") => {
    const armored = await readArmored(path, at);
    if (armored === undefined) return undefined;
    try {
      const key = await openpgp.readKey({ armoredKey: armored });
      if (key.isPrivate()) return void findings.problem(at, `${path} holds a private key; give the public key only (gpg --export), and keep the private key off this server`);
      if (use === "encrypt") await key.getEncryptionKey();
      return key;
    } catch (err) {
      findings.problem(at, `${path} holds no public key that can ${use}: ${(err as Error).message}`);
      return undefined;
    }
  };

  await privateKey(config.signing?.key_file, "signing.key_file", "sign");
  for (const [i, entry] of (config.trust ?? []).entries()) {
    const key = typeof entry === "string" ? entry : entry.key;
    if (key.startsWith("/")) await publicKey(key, typeof entry === "string" ? `trust[${i}]` : `trust[${i}].key`, "verify");
  }

  for (const [name, job] of Object.entries(config.jobs)) {
    const at = `jobs.${name}`;
    if (job.type === "postgres") secret(job.password_file, `${at}.password_file`);
    // A drill host reads the backups, never the sources: their paths are the server's, not its own.
    if (job.type === "files" && dutiesOf(config.role).backups) {
      let tops = true;
      job.paths.forEach((path, i) => {
        const denied = accessProblem(path, "read", who);
        if (denied) findings.problem(`${at}.paths[${i}]`, `cannot read ${path}: ${denied}`);
        else if (statSync(path).isDirectory() && accessProblem(path, "search", who)) findings.problem(`${at}.paths[${i}]`, `cannot enter ${path}: EACCES`);
        else return;
        tops = false;
      });
      if (tops) await checkTrees(job, at, who, findings);
    }
    const recipients: string[] = [];
    if (job.encrypt && "recipients" in job.encrypt)
      for (const [i, path] of job.encrypt.recipients.entries()) {
        const key = await publicKey(path, `${at}.encrypt.recipients[${i}]`, "encrypt");
        if (key) recipients.push(key.getFingerprint().toUpperCase());
      }
    if (job.encrypt && "passphrase_file" in job.encrypt) secret(job.encrypt.passphrase_file, `${at}.encrypt.passphrase_file`);
    secret(job.drill?.passphrase_file, `${at}.drill.passphrase_file`);
    const drillKey = await privateKey(job.drill?.key_file, `${at}.drill.key_file`, "decrypt");
    if (drillKey && recipients.length > 0) {
      const own = drillKey.getKeys().map((k) => k.getFingerprint().toUpperCase());
      if (!own.some((f) => recipients.includes(f)))
        findings.problem(`${at}.drill.key_file`, `the key in ${job.drill!.key_file} (${own[0]}) cannot decrypt this job's backups: they are encrypted to ${recipients.join(", ")}`);
    }
    // An unreadable passphrase file is reported once, by secret().
    if (drillKey && (!job.drill?.key_passphrase_file || secret(job.drill.key_passphrase_file, `${at}.drill.key_passphrase_file`))) {
      // A protected key is unlocked as the drill would: without its passphrase, or with a wrong one, the drill could not decrypt.
      await unlockDecryptionKeys(drillKey, { keyFile: job.drill!.key_file, passphraseFile: job.drill!.key_passphrase_file, passphraseFlag: "drill.key_passphrase_file" }).catch((err: Error) =>
        findings.problem(`${at}.drill.key_file`, err.message),
      );
    }
  }

  // Where drd writes: the kernel's modes, and the installed unit's sandbox.
  const writes: [string, string][] = [["state_dir", config.state_dir]];
  for (const [name, t] of Object.entries(config.targets)) if (t.type === "local") writes.push([`targets.${name}.path`, t.path]);
  for (const [at, path] of writes) writable(path, at, who, findings);
  const trail = auditPath(config);
  const trailAt = config.audit ? "audit.path" : "state_dir";
  if (statSync(trail, { throwIfNoEntry: false })) {
    const denied = accessProblem(trail, "write", who);
    if (denied) findings.problem(trailAt, `cannot append to the audit trail ${trail}: ${denied}`);
  } else writable(dirname(trail), trailAt, who, findings);
  if (config.audit) writes.push([trailAt, trail]);
  const unit = unitWritablePaths();
  // Judged for the service's own user: the sandbox binds the service, not whoever runs drctl.
  if (unit && (who.kind === "user" ? who.name : currentUser()) === unit.user) {
    for (const [at, path] of writes) {
      if (!unit.paths.some((p) => path === p || path.startsWith(`${p}/`)))
        findings.problem(at, `${path} lies outside what ${unit.file} lets drd write (${unit.paths.join(", ")}): under the service it cannot be written; add it to ReadWritePaths (systemctl edit drd)`);
    }
  }
}

/** How long config check walks one job's source trees, and how many unreadable entries it names. */
const TREE_WALK_MS = 10_000;
const UNREADABLE_NAMED = 5;

/**
 * Walks a files job's trees as the backup will, judging each entry for the daemon's user:
 * a file below a readable directory that drd cannot read fails the backup (or is skipped,
 * with skip_unreadable). Bounded in time: a tree too large to walk in TREE_WALK_MS is said
 * to be checked in part.
 */
async function checkTrees(job: FilesJobConfig, at: string, who: Principal, findings: Findings): Promise<void> {
  const deadline = Date.now() + TREE_WALK_MS;
  // Another user is judged by the entry's mode alone: the walk got here through directories it may enter.
  const canRead = (path: string, info: Stats) =>
    (info.isDirectory() ? (["read", "search"] as const) : (["read"] as const)).every((need) =>
      who.kind === "self" ? accessProblem(path, need, who) === undefined : permits(info, need, who),
    );
  const found = await walk(job.paths, job.exclude, { canRead, enough: (r) => Date.now() > deadline || r.unreadable.length >= UNREADABLE_NAMED + 1 });
  const seen = found.include.length + found.unreadable.length;
  if (found.unreadable.length > 0) {
    const shown = found.unreadable.slice(0, UNREADABLE_NAMED).join(", ");
    const count = found.partial ? `at least ${found.unreadable.length}` : String(found.unreadable.length);
    const who_ = who.kind === "self" ? "this user" : who.name;
    if (job.skip_unreadable)
      findings.warning(`${at}.paths`, `${count} path(s) below cannot be read by ${who_} and will be skipped (skip_unreadable): ${shown}`);
    else
      findings.problem(`${at}.paths`, `${count} path(s) below cannot be read by ${who_}, and the backup would fail: ${shown} (give ${who_} read access, e.g. through a group, exclude them, or set skip_unreadable: true)`);
  } else if (found.partial) {
    findings.warning(`${at}.paths`, `walked ${seen} entries in ${TREE_WALK_MS / 1000} s without finding one ${who.kind === "self" ? "this user" : who.name} cannot read; the rest was not checked`);
  }
}

/**
 * The paths the installed service may write under its sandbox (ProtectSystem=strict):
 * ReadWritePaths and StateDirectory/LogsDirectory/CacheDirectory. Undefined when no unit
 * is installed (DRD_UNIT_FILE names another place to look).
 */
function unitWritablePaths(): { file: string; user: string; paths: string[] } | undefined {
  const file = process.env.DRD_UNIT_FILE ?? "/etc/systemd/system/drd.service";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  if (!/^ProtectSystem=strict\s*$/m.test(text)) return undefined;
  const roots: Record<string, string> = { StateDirectory: "/var/lib", LogsDirectory: "/var/log", CacheDirectory: "/var/cache", RuntimeDirectory: "/run" };
  const paths: string[] = [];
  for (const m of text.matchAll(/^(ReadWritePaths|StateDirectory|LogsDirectory|CacheDirectory|RuntimeDirectory)=(.*)$/gm)) {
    for (const word of m[2]!.trim().split(/\s+/).filter(Boolean)) {
      const path = word.replace(/^[-+]/, "");
      paths.push(m[1] === "ReadWritePaths" ? path : `${roots[m[1]!]}/${path}`);
    }
  }
  return { file, user: /^User=(.+)$/m.exec(text)?.[1]?.trim() ?? "root", paths };
}

function currentUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** A directory drd writes into: writable if it exists, else creatable in its nearest existing parent. */
function writable(path: string, at: string, who: Principal, findings: Findings): void {
  let dir = path;
  while (!statSync(dir, { throwIfNoEntry: false })) {
    if (dir === dirname(dir)) break;
    dir = dirname(dir);
  }
  const st = statSync(dir);
  if (!st.isDirectory()) return findings.problem(at, `${dir} is not a directory`);
  const denied = accessProblem(dir, "write", who) ?? accessProblem(dir, "search", who);
  if (denied) findings.problem(at, dir === path ? `cannot write in ${path}: ${denied}` : `cannot create ${path}: ${dir} is not writable (${denied})`);
}
