import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  databaseNames
} from "./chunk-BYYJXBFC.js";
import {
  PgConnection
} from "./chunk-BDXB57VK.js";
import "./chunk-G2AMMR5O.js";
import {
  execa
} from "./chunk-VKGJIJQW.js";
import {
  loadConfig
} from "./chunk-4VWWJMEV.js";
import "./chunk-TAK6QB6Z.js";
import "./chunk-O533N2YG.js";
import {
  json
} from "./chunk-2VLLPNS3.js";
import {
  ConfigError,
  describeError
} from "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";

// dist/app/config-check/local.js
import { readFile } from "node:fs/promises";
import { statSync as statSync2 } from "node:fs";
import { dirname as dirname2 } from "node:path";

// dist/config/access.js
import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
function accessProblem(path, need, who) {
  if (who.kind === "self") {
    try {
      accessSync(path, need === "read" ? constants.R_OK : need === "write" ? constants.W_OK : constants.X_OK);
      return void 0;
    } catch (err) {
      return err.code ?? "error";
    }
  }
  const full = resolve(path);
  const parents = [];
  for (let dir = dirname(full); ; dir = dirname(dir)) {
    parents.unshift(dir);
    if (dir === dirname(dir))
      break;
  }
  for (const dir of parents) {
    const st2 = statSync(dir, { throwIfNoEntry: false });
    if (!st2)
      return "ENOENT";
    if (!permits(st2, "search", who))
      return `EACCES (${who.name} cannot enter ${dir})`;
  }
  const st = statSync(full, { throwIfNoEntry: false });
  if (!st)
    return "ENOENT";
  return permits(st, need, who) ? void 0 : "EACCES";
}
function permits(st, need, who) {
  if (who.uid === 0)
    return true;
  const bit = need === "read" ? 4 : need === "write" ? 2 : 1;
  const shift = st.uid === who.uid ? 6 : who.gids.includes(st.gid) ? 3 : 0;
  return (st.mode >> shift & bit) !== 0;
}

// dist/app/config-check/local.js
async function checkLocal(config, who, findings) {
  const openpgp = await import("./openpgp-YCGJGXCR.js");
  const secret = (path, at) => {
    if (!path)
      return false;
    const denied = accessProblem(path, "read", who);
    if (denied) {
      findings.problem(at, `cannot read ${path}: ${denied}`);
      return false;
    }
    const mode = statSync2(path).mode & 511;
    if (mode & 31)
      findings.problem(at, `${path} is mode ${mode.toString(8).padStart(4, "0")}: it holds a secret others can ${mode & 7 ? "read" : "change"} (chmod 0600 ${path}, or 0640 for a group that needs it)`);
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
    if (a.type === "email")
      secret(a.smtp.password_file, `alerts[${i}].smtp.password_file`);
  });
  const readArmored = async (path, at) => {
    const denied = accessProblem(path, "read", who);
    if (denied)
      return void findings.problem(at, `cannot read ${path}: ${denied}`);
    return readFile(path, "utf8");
  };
  const privateKey = async (path, at, use) => {
    if (!secret(path, at))
      return void 0;
    const armored = await readFile(path, "utf8");
    try {
      const key = await openpgp.readPrivateKey({ armoredKey: armored });
      if (!key.isDecrypted())
        return void findings.problem(at, `the private key in ${path} is protected by a passphrase; drd needs an unprotected copy`);
      await (use === "sign" ? key.getSigningKey() : key.getDecryptionKeys());
      return key;
    } catch (err) {
      findings.problem(at, `${path} holds no private key that can ${use}: ${err.message}`);
      return void 0;
    }
  };
  const publicKey = async (path, at, use) => {
    const armored = await readArmored(path, at);
    if (armored === void 0)
      return void 0;
    try {
      const key = await openpgp.readKey({ armoredKey: armored });
      if (key.isPrivate())
        return void findings.problem(at, `${path} holds a private key; give the public key only (gpg --export), and keep the private key off this server`);
      if (use === "encrypt")
        await key.getEncryptionKey();
      return key;
    } catch (err) {
      findings.problem(at, `${path} holds no public key that can ${use}: ${err.message}`);
      return void 0;
    }
  };
  await privateKey(config.signing?.key_file, "signing.key_file", "sign");
  for (const [i, entry] of (config.trust ?? []).entries())
    if (entry.startsWith("/"))
      await publicKey(entry, `trust[${i}]`, "verify");
  for (const [name, job] of Object.entries(config.jobs)) {
    const at = `jobs.${name}`;
    if (job.type === "postgres")
      secret(job.password_file, `${at}.password_file`);
    if (job.type === "files")
      job.paths.forEach((path, i) => {
        const denied = accessProblem(path, "read", who);
        if (denied)
          findings.problem(`${at}.paths[${i}]`, `cannot read ${path}: ${denied}`);
        else if (statSync2(path).isDirectory() && accessProblem(path, "search", who))
          findings.problem(`${at}.paths[${i}]`, `cannot enter ${path}: EACCES`);
      });
    const recipients = [];
    if (job.encrypt && "recipients" in job.encrypt)
      for (const [i, path] of job.encrypt.recipients.entries()) {
        const key = await publicKey(path, `${at}.encrypt.recipients[${i}]`, "encrypt");
        if (key)
          recipients.push(key.getFingerprint().toUpperCase());
      }
    if (job.encrypt && "passphrase_file" in job.encrypt)
      secret(job.encrypt.passphrase_file, `${at}.encrypt.passphrase_file`);
    secret(job.drill?.passphrase_file, `${at}.drill.passphrase_file`);
    const drillKey = await privateKey(job.drill?.key_file, `${at}.drill.key_file`, "decrypt");
    if (drillKey && recipients.length > 0) {
      const own = drillKey.getKeys().map((k) => k.getFingerprint().toUpperCase());
      if (!own.some((f) => recipients.includes(f)))
        findings.problem(`${at}.drill.key_file`, `the key in ${job.drill.key_file} (${own[0]}) cannot decrypt this job's backups: they are encrypted to ${recipients.join(", ")}`);
    }
  }
  writable(config.state_dir, "state_dir", who, findings);
  for (const [name, t] of Object.entries(config.targets))
    if (t.type === "local")
      writable(t.path, `targets.${name}.path`, who, findings);
}
function writable(path, at, who, findings) {
  let dir = path;
  while (!statSync2(dir, { throwIfNoEntry: false })) {
    if (dir === dirname2(dir))
      break;
    dir = dirname2(dir);
  }
  const st = statSync2(dir);
  if (!st.isDirectory())
    return findings.problem(at, `${dir} is not a directory`);
  const denied = accessProblem(dir, "write", who) ?? accessProblem(dir, "search", who);
  if (denied)
    findings.problem(at, dir === path ? `cannot write in ${path}: ${denied}` : `cannot create ${path}: ${dir} is not writable (${denied})`);
}

// dist/app/config-check/online.js
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
async function checkOnline(config, findings) {
  const pgDump = await pgDumpMajor();
  for (const [name, job] of Object.entries(config.jobs))
    if (job.type === "postgres")
      await checkPostgres(name, job, pgDump, findings);
  for (const [name, t] of Object.entries(config.targets))
    if (t.type === "s3")
      await checkBucket(name, t, findings);
}
async function pgDumpMajor() {
  const r = await execa("pg_dump", ["--version"], { reject: false });
  const m = /(\d+)(?:\.(\d+))?/.exec(r.stdout ?? "");
  return r.exitCode === 0 && m ? { version: m[0], major: Number(m[1]) } : void 0;
}
async function checkPostgres(name, job, pgDump, findings) {
  const at = `jobs.${name}.connection`;
  const problemsBefore = findings.problems.length;
  let conn;
  try {
    conn = await PgConnection.open(job.connection, job.password_file);
  } catch (err) {
    return findings.problem(`jobs.${name}.password_file`, describeError(err));
  }
  try {
    const first = await conn.client(conn.defaultDatabase);
    let version, major, superuser, user, names;
    try {
      const v = await first.query(`SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, r.rolsuper AS su, current_user AS u FROM pg_roles r WHERE r.rolname = current_user`);
      ({ su: superuser, u: user } = v.rows[0]);
      version = v.rows[0].v.split(" ")[0];
      major = Math.floor(Number(v.rows[0].n) / 1e4);
      names = await databaseNames(first, job, conn.defaultDatabase);
    } finally {
      await first.end();
    }
    if (!pgDump)
      findings.problem(at, "pg_dump is not installed (apt-get install postgresql-client)");
    else if (pgDump.major < major)
      findings.problem(at, `pg_dump ${pgDump.version} cannot dump a PostgreSQL ${version} server: install postgresql-client-${major}`);
    if (job.globals && !superuser)
      findings.problem(`jobs.${name}.globals`, `pg_dumpall --globals-only reads every role and needs a superuser; ${user} is not one (grant it, or set globals: false)`);
    let tables = 0;
    for (const database of names) {
      const client = await conn.client(database);
      try {
        const { rows } = await client.query(`SELECT format('%I.%I', n.nspname, c.relname) AS name, has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') AS readable
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
            ORDER BY 1`);
        tables += rows.length;
        const denied = rows.filter((r) => !r.readable).map((r) => r.name);
        if (denied.length > 0)
          findings.problem(at, `${user} cannot read ${denied.length} table(s) of database ${database}, so pg_dump would fail: ${denied.slice(0, 5).join(", ")}${denied.length > 5 ? ", ..." : ""} (GRANT SELECT, or pg_read_all_data)`);
      } finally {
        await client.end();
      }
    }
    if (findings.problems.length === problemsBefore)
      findings.ok(at, `PostgreSQL ${version} as ${user}; ${names.length} database(s), ${tables} table(s) and sequence(s)${pgDump ? `; pg_dump ${pgDump.version}` : ""}`);
    if (job.drill)
      await checkDrillServer(name, job, findings);
  } catch (err) {
    findings.problem(at, describeError(err));
  } finally {
    await conn.close();
  }
}
async function checkDrillServer(name, job, findings) {
  const at = job.drill.connection ? `jobs.${name}.drill.connection` : `jobs.${name}.connection`;
  const conn = await PgConnection.open(job.drill.connection ?? job.connection, job.password_file);
  try {
    const client = await conn.client(conn.defaultDatabase);
    try {
      const { rows } = await client.query(`SELECT rolcreatedb OR rolsuper AS ok, current_user AS u FROM pg_roles WHERE rolname = current_user`);
      if (!rows[0].ok)
        findings.problem(at, `${rows[0].u} cannot create the scratch database a drill restores into (ALTER ROLE ${rows[0].u} CREATEDB)`);
      else
        findings.ok(at, `${rows[0].u} can create scratch databases`);
    } finally {
      await client.end();
    }
  } catch (err) {
    findings.problem(at, describeError(err));
  }
}
async function checkBucket(name, config, findings) {
  const at = `targets.${name}`;
  const { S3Target } = await import("./s3-4IOTCSBZ.js");
  const target = new S3Target(name, config);
  const key = `.drd-probe/${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const body = `drd config check ${(/* @__PURE__ */ new Date()).toISOString()}
`;
  try {
    await target.put(key, Readable.from([Buffer.from(body)]));
    try {
      const back = await text(await target.get(key));
      if (back !== body)
        findings.problem(at, `the probe object read back from ${target.locate(key)} differs from what was written`);
    } finally {
      await target.delete([key]);
    }
  } catch (err) {
    return findings.problem(at, describeError(err));
  }
  const parts = [`wrote, read back and deleted ${target.locate(".drd-probe")}/...`];
  try {
    parts.push(`versioning ${await target.versioningState()}`);
  } catch (err) {
    findings.warning(at, describeError(err));
  }
  const lock = await target.lockProblem().catch((err) => `could not check: ${err.message}`);
  if (lock)
    findings.warning(`${at}.object_lock`, lock);
  else if (config.object_lock)
    parts.push(`Object Lock enabled (${config.object_lock.mode}, ${config.object_lock.days} days)`);
  findings.ok(at, parts.join("; "));
}

// dist/app/config-check/principal.js
import { statSync as statSync3 } from "node:fs";
import { userInfo } from "node:os";
async function checkingAs(stateDir) {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0)
    return { who: { kind: "self" }, name: userInfo().username, asRoot: false };
  const owner = statSync3(stateDir, { throwIfNoEntry: false })?.uid;
  if (owner === void 0 || owner === 0)
    return { who: { kind: "self" }, name: "root", asRoot: true };
  const [name, groups] = await Promise.all([execa("id", ["-nu", String(owner)], { reject: false }), execa("id", ["-G", String(owner)], { reject: false })]);
  const gids = groups.exitCode === 0 ? groups.stdout.trim().split(/\s+/).map(Number) : [statSync3(stateDir).gid];
  const label = name.exitCode === 0 ? name.stdout.trim() : `uid ${owner}`;
  return { who: { kind: "user", name: label, uid: owner, gids }, name: label, asRoot: false };
}

// dist/app/config-check/findings.js
var Findings = class {
  problems = [];
  warnings = [];
  passed = [];
  problem(path, message) {
    this.problems.push({ path, message });
  }
  warning(path, message) {
    this.warnings.push({ path, message });
  }
  ok(path, message) {
    this.passed.push({ path, message });
  }
};

// dist/app/config-check/check.js
async function checkConfig(config, opts) {
  const findings = new Findings();
  const { who, name, asRoot } = await checkingAs(config.state_dir);
  if (asRoot)
    findings.warning("state_dir", `checked as root, which can read everything: run the check as the user drd runs as (sudo -u drd drctl config check), or create state_dir owned by that user`);
  await checkLocal(config, who, findings);
  if (opts.online)
    await checkOnline(config, findings);
  return { checkedAs: name, findings };
}

// dist/cli/commands/config-check.js
async function configCheckCommand(io, configPath, opts) {
  let problems = [];
  let warnings = [];
  let passed = [];
  let summary = "";
  let checkedAs;
  try {
    const config = loadConfig(configPath);
    const report = await checkConfig(config, { online: opts.online === true });
    ({ problems, warnings, passed } = report.findings);
    checkedAs = report.checkedAs;
    const jobs = Object.keys(config.jobs).length;
    const targets = Object.keys(config.targets).length;
    summary = `${jobs} job${jobs === 1 ? "" : "s"}, ${targets} target${targets === 1 ? "" : "s"}; checked as ${checkedAs}${opts.online ? ", online" : ""}`;
  } catch (err) {
    if (!(err instanceof ConfigError))
      throw err;
    problems = err.problems.map(splitProblem);
  }
  if (opts.json) {
    const out = { config: configPath, ok: problems.length === 0, checked_as: checkedAs ?? null, online: opts.online === true, problems, warnings, passed };
    io.out(json(out));
  } else {
    for (const p of passed)
      io.out(`${p.path}: ok: ${p.message}`);
    if (problems.length === 0)
      io.out(`${configPath}: ok (${summary})`);
    for (const p of problems)
      io.err(`${p.path}: ${p.message}`);
    for (const w of warnings)
      io.err(`${w.path}: warning: ${w.message}`);
  }
  return problems.length === 0 ? 0 : 2;
}
function splitProblem(line) {
  const at = line.indexOf(": ");
  return at > 0 ? { path: line.slice(0, at), message: line.slice(at + 2) } : { path: "", message: line };
}
export {
  configCheckCommand
};
