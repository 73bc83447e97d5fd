import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  dropDatabase,
  restore,
  selectBackup
} from "./chunk-SCCCN6II.js";
import {
  PgConnection
} from "./chunk-BDXB57VK.js";
import {
  BOOT_ID,
  isClaimAlive
} from "./chunk-DUCIIMAT.js";
import {
  execa
} from "./chunk-VKGJIJQW.js";
import {
  listBackups
} from "./chunk-6PXD3LAL.js";
import {
  checkCopy
} from "./chunk-TGE2FK6Q.js";
import {
  notify
} from "./chunk-GGBHMAI3.js";
import {
  alertMessage
} from "./chunk-6OGFF74X.js";
import {
  assertTarget,
  jobOf
} from "./chunk-LJO7CHKX.js";
import {
  copyVersions,
  parseManifest
} from "./chunk-KAQ4J7ZM.js";
import {
  IntegrityError,
  OperationError,
  describeError
} from "./chunk-RSPIC3EP.js";
import {
  audit
} from "./chunk-FIZQLTWE.js";

// dist/app/drill.js
import { mkdtemp, readdir as readdir2, rm } from "node:fs/promises";
import { join as join2 } from "node:path";

// dist/app/certificates.js
import { X509Certificate } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
var PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
var MAX_FILE = 1 << 20;
async function findCertificates(dir, now) {
  const out = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile())
      continue;
    const path = join(e.parentPath, e.name);
    if ((await stat(path)).size > MAX_FILE)
      continue;
    const text = await readFile(path, "latin1");
    for (const pem of text.match(PEM_CERT) ?? []) {
      try {
        const cert = new X509Certificate(pem);
        const notAfter = Date.parse(cert.validTo);
        out.push({ path: path.slice(dir.length + 1), subject: cert.subject.replace(/\n/g, ", "), not_after: new Date(notAfter).toISOString(), days_left: Math.floor((notAfter - now) / 864e5) });
      } catch {
      }
    }
  }
  return out;
}

// dist/app/drill.js
var CERT_WARNING_DAYS = 30;
async function runDrill(ctx, jobName, options) {
  const job = jobOf(ctx, jobName);
  if (options.target !== void 0)
    assertTarget(ctx, options.target);
  const from = options.target ?? job.drill?.from ?? job.targets.find((t) => ctx.config.targets[t]?.offsite) ?? job.targets[0];
  await removeAbandonedScratch(ctx, jobName, job);
  const startedAt = ctx.now();
  const id = ctx.catalog.startDrill(jobName, startedAt, process.pid, BOOT_ID);
  const outcome = {
    id,
    job: jobName,
    backup_id: null,
    from,
    ok: false,
    rto_proven: false,
    started_at: new Date(startedAt).toISOString(),
    duration_seconds: 0,
    phases: { download: 0, decrypt: 0, restore: 0, checks: 0 },
    checks: [],
    certificates: [],
    warnings: [],
    error: null,
    failure: null
  };
  try {
    const encrypted = latestManifest(ctx, jobName)?.encryption;
    const hasSecret = Boolean(job.drill?.key_file || job.drill?.passphrase_file);
    if (encrypted && !hasSecret)
      await integrityOnly(ctx, jobName, from, outcome);
    else
      await restoreAndCheck(ctx, { jobName, job, from, outcome, signal: options.signal, onProgress: options.onProgress });
  } catch (err) {
    outcome.ok = false;
    outcome.error = describeError(err);
    outcome.failure = err instanceof IntegrityError ? "integrity" : "operation";
  } finally {
    outcome.duration_seconds = (ctx.now() - startedAt) / 1e3;
    ctx.catalog.finishDrill(id, {
      backup_id: outcome.backup_id,
      target: from,
      finished_at: ctx.now(),
      ok: outcome.ok ? 1 : 0,
      phases: JSON.stringify({ ...outcome.phases, rto_proven: outcome.rto_proven }),
      details: JSON.stringify({ checks: outcome.checks, certificates: outcome.certificates, warnings: outcome.warnings }),
      error: outcome.error
    });
    ctx.catalog.addEvent({ at: ctx.now(), kind: outcome.ok ? "drill_ok" : "drill_failed", job: jobName, ...outcome.backup_id ? { backup_id: outcome.backup_id } : {}, target: from, detail: outcome.error ?? void 0 });
    audit(ctx, { event: "drill", outcome: outcome.ok ? "ok" : "failed", job: jobName, backup_id: outcome.backup_id, target: from, detail: { drill_id: id, seconds: outcome.duration_seconds, ...outcome.error ? { error: outcome.error } : {} } });
    if (!outcome.ok && !options.signal.aborted)
      notify(ctx, alertMessage("drill_failed", jobName, `drill of ${jobName} from ${from} failed: ${outcome.error}`, { drill_id: id, backup_id: outcome.backup_id, from, failure: outcome.failure, error: outcome.error }, ctx.now()));
  }
  return outcome;
}
function scratchDatabaseName(job, drillId) {
  return `drd_drill_${job}_${drillId}`.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 63);
}
async function removeAbandonedScratch(ctx, jobName, job) {
  for (const drill of ctx.catalog.unfinishedDrills(jobName)) {
    if (isClaimAlive(drill))
      continue;
    if (job.type === "postgres") {
      const conn = await PgConnection.open(job.drill?.connection ?? job.connection, job.password_file);
      await dropDatabase({ conn, name: scratchDatabaseName(jobName, drill.id), created: true }).catch(() => void 0);
      await conn.close();
    }
    for (const entry of await readdir2(ctx.config.state_dir).catch(() => [])) {
      if (entry.startsWith(`drill-${jobName}-${drill.id}-`))
        await rm(join2(ctx.config.state_dir, entry), { recursive: true, force: true });
    }
    ctx.catalog.finishDrill(drill.id, {
      backup_id: drill.backup_id,
      target: drill.target,
      finished_at: ctx.now(),
      ok: 0,
      phases: null,
      details: null,
      error: "the drill's process ended before it finished (killed or crashed); its scratch was removed by a later drill"
    });
  }
}
function latestManifest(ctx, job) {
  const picked = selectBackup(listBackups(ctx, job), {});
  return typeof picked === "string" ? void 0 : parseManifest(ctx.catalog.getBackup(picked.id));
}
async function integrityOnly(ctx, job, from, outcome) {
  const picked = selectBackup(listBackups(ctx, job), {});
  if (typeof picked === "string")
    throw new OperationError(`nothing to drill: ${picked}`);
  outcome.backup_id = picked.id;
  const t = ctx.now();
  const backup = ctx.catalog.getBackup(picked.id);
  const check = await checkCopy(ctx.targets.get(from), parseManifest(backup), { sha256: backup.sha256, signature: backup.signature, versions: copyVersions(backup.copies.find((c) => c.target === from)) });
  outcome.phases.download = ctx.now() - t;
  outcome.checks.push({ check: "sha256 of every object", ok: check.ok, detail: check.ok ? "match" : check.problem });
  outcome.warnings.push("encrypted backup and no drill key_file or passphrase_file: integrity checked, restore (RTO) not proven");
  outcome.ok = check.ok;
  if (!check.ok) {
    outcome.error = check.problem;
    outcome.failure = "integrity";
  }
}
async function restoreAndCheck(ctx, { jobName, job, from, outcome, signal, onProgress }) {
  const scratchDb = scratchDatabaseName(jobName, outcome.id);
  const scratchDir = job.type === "files" ? await mkdtemp(join2(ctx.config.state_dir, `drill-${jobName}-${outcome.id}-`)) : void 0;
  const connection = job.type === "postgres" ? job.drill?.connection ?? job.connection : void 0;
  try {
    const restored = await restore(ctx, {
      job: jobName,
      from,
      noOwner: true,
      ...job.type === "postgres" ? { toDb: scratchDb, connection, ...job.drill?.jobs ? { jobs: job.drill.jobs } : {} } : { toDir: scratchDir, fullPaths: true },
      ...job.drill?.key_file ? { keyFile: job.drill.key_file } : {},
      ...job.drill?.passphrase_file ? { passphraseFile: job.drill.passphrase_file } : {},
      ...onProgress ? { onProgress } : {}
    }, signal);
    outcome.backup_id = restored.backup_id;
    outcome.phases.download = restored.phases.download;
    outcome.phases.decrypt = restored.phases.decrypt;
    outcome.phases.restore = restored.phases.restore;
    outcome.checks.push({ check: "manifest", ok: true, detail: restored.checked });
    const t = ctx.now();
    for (const check of job.drill?.checks ?? []) {
      signal.throwIfAborted();
      outcome.checks.push("sql" in check ? await sqlCheck(job, connection, scratchDb, check.sql, signal) : await commandCheck(check.command, scratchDir, job, connection, scratchDb, signal));
    }
    if (scratchDir) {
      outcome.certificates = await findCertificates(scratchDir, ctx.now());
      for (const c of outcome.certificates.filter((c2) => c2.days_left < CERT_WARNING_DAYS)) {
        outcome.warnings.push(`certificate ${c.path} (${c.subject}) ${c.days_left < 0 ? "expired" : "expires"} ${c.not_after}`);
      }
    }
    outcome.phases.checks = restored.phases.check + (ctx.now() - t);
    const failed = outcome.checks.filter((c) => !c.ok);
    outcome.rto_proven = failed.length === 0;
    outcome.ok = failed.length === 0;
    if (failed.length > 0) {
      outcome.error = `drill check failed: ${failed.map((c) => `${c.check}: ${c.detail}`).join("; ")}`;
      outcome.failure = "integrity";
    }
  } finally {
    if (scratchDir)
      await rm(scratchDir, { recursive: true, force: true });
    if (job.type === "postgres") {
      const conn = await PgConnection.open(connection, job.password_file);
      await dropDatabase({ conn, name: scratchDb, created: true }).catch(() => void 0);
      await conn.close();
    }
  }
}
function interrupted(signal) {
  return new OperationError(`interrupted: ${describeError(signal.reason)}`);
}
async function sqlCheck(job, connection, db, sql, signal) {
  const conn = await PgConnection.open(connection, job.type === "postgres" ? job.password_file : void 0);
  try {
    const client = await conn.client(db);
    const stop = () => void client.end().catch(() => void 0);
    signal.addEventListener("abort", stop, { once: true });
    try {
      const res = await client.query({ text: sql, rowMode: "array" });
      const value = res.rows[0]?.[0];
      return { check: sql, ok: value === true, detail: `returned ${JSON.stringify(value ?? null)}` };
    } catch (err) {
      if (signal.aborted)
        throw interrupted(signal);
      return { check: sql, ok: false, detail: describeError(err) };
    } finally {
      signal.removeEventListener("abort", stop);
      await client.end().catch(() => void 0);
    }
  } finally {
    await conn.close();
  }
}
async function commandCheck(command, dir, job, connection, db, signal) {
  const env = dir ? { DRD_DRILL_DIR: dir } : {};
  if (job.type === "postgres" && connection) {
    const conn = await PgConnection.open(connection);
    env.DRD_DRILL_DATABASE_URL = conn.urlFor(db);
    await conn.close();
  }
  const result = await execa(command[0], command.slice(1), { cwd: dir, env, reject: false, timeout: 6e5, stdin: "ignore", cancelSignal: signal, forceKillAfterDelay: 2e3 });
  if (signal.aborted)
    throw interrupted(signal);
  const tail = `${result.stderr ?? ""}`.trim().slice(-300);
  return { check: command.join(" "), ok: result.exitCode === 0, detail: result.exitCode === 0 ? "exit 0" : `exit ${result.exitCode ?? result.signal}${tail ? `: ${tail}` : ""}` };
}
function drillFailure(outcome) {
  if (outcome.ok)
    return void 0;
  const message = `drill of ${outcome.job} failed: ${outcome.error}`;
  return outcome.failure === "integrity" ? new IntegrityError(message) : new OperationError(message);
}

export {
  runDrill,
  drillFailure
};
