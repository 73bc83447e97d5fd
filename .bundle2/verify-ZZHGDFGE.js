import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  backupView
} from "./chunk-6PXD3LAL.js";
import {
  readTargetManifests
} from "./chunk-6XYF5PTU.js";
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
  json,
  table
} from "./chunk-2VLLPNS3.js";
import {
  assertTarget,
  jobOf
} from "./chunk-LJO7CHKX.js";
import {
  copyVersions,
  parseManifest
} from "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import {
  UsageError,
  describeError
} from "./chunk-RSPIC3EP.js";
import {
  audit
} from "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";

// dist/app/verify.js
async function verifyBackups(ctx, request) {
  if (request.backupId && request.job)
    throw new UsageError("give a backup id or --job, not both");
  if (request.job)
    jobOf(ctx, request.job);
  if (request.target)
    assertTarget(ctx, request.target);
  const backups = request.backupId ? [ctx.catalog.getBackup(request.backupId) ?? notFound(request.backupId)] : ctx.catalog.listBackups(request.job ? { job: request.job } : {});
  const results = [];
  for (const backup of backups) {
    const policyBefore = backupView(ctx.config, backup).policy_ok;
    const manifest = parseManifest(backup);
    for (const copy of backup.copies) {
      if (request.target && copy.target !== request.target)
        continue;
      if (copy.state === "pending" || copy.state === "deleted")
        continue;
      let result;
      try {
        const check = await checkCopy(ctx.targets.get(copy.target), manifest, { sha256: backup.sha256, signature: backup.signature, versions: copyVersions(copy) });
        result = check.ok ? { backup_id: backup.id, target: copy.target, ok: true, state: "verified", problem: null } : { backup_id: backup.id, target: copy.target, ok: false, state: check.state, problem: check.problem };
      } catch (err) {
        results.push({ backup_id: backup.id, target: copy.target, ok: false, state: "unreachable", problem: describeError(err) });
        continue;
      }
      const now = ctx.now();
      if (result.ok) {
        ctx.catalog.updateCopy(backup.id, copy.target, { state: "verified", verified_at: now, error: null });
      } else {
        ctx.catalog.updateCopy(backup.id, copy.target, { state: result.state, error: result.problem });
        if (copy.state !== result.state) {
          ctx.catalog.addEvent({ at: now, kind: `copy_${result.state}`, job: backup.job, backup_id: backup.id, target: copy.target, detail: result.problem ?? void 0 });
          audit(ctx, { event: "verify_failed", outcome: "failed", job: backup.job, backup_id: backup.id, target: copy.target, detail: { state: result.state, problem: result.problem } });
          notify(ctx, alertMessage("verify_failed", backup.job, `the copy of ${backup.id} on ${copy.target} is ${result.state}: ${result.problem}`, { backup_id: backup.id, target: copy.target, state: result.state, problem: result.problem }, now));
        }
      }
      results.push(result);
    }
    const after = ctx.catalog.getBackup(backup.id);
    if (policyBefore && after && !backupView(ctx.config, after).policy_ok) {
      ctx.catalog.addEvent({ at: ctx.now(), kind: "policy_lost", job: backup.job, backup_id: backup.id, detail: backupView(ctx.config, after).policy.missing.join(", ") });
    }
  }
  if (!request.backupId)
    results.push(...await untrustedOnTargets(ctx, request));
  return results;
}
async function untrustedOnTargets(ctx, request) {
  if (!ctx.config.signing && !ctx.config.trust)
    return [];
  const jobs = request.job ? [request.job] : Object.keys(ctx.config.jobs);
  const targets = [...new Set(jobs.flatMap((j) => ctx.config.jobs[j].targets))].filter((t) => !request.target || t === request.target);
  const out = [];
  for (const target of targets) {
    for (const job of jobs.filter((j) => ctx.config.jobs[j].targets.includes(target))) {
      let records;
      try {
        records = await readTargetManifests(ctx, target, job);
      } catch (err) {
        out.push({ backup_id: `${job}/*`, target, ok: false, state: "unreachable", problem: describeError(err) });
        continue;
      }
      for (const r of records) {
        if (r.trust.trusted)
          continue;
        out.push({ backup_id: r.manifest.id, target, ok: false, state: "untrusted", problem: r.trust.reason });
        ctx.catalog.addEvent({ at: ctx.now(), kind: "copy_untrusted", job: r.manifest.job, backup_id: r.manifest.id, target, detail: r.trust.reason });
        audit(ctx, { event: "verify_failed", outcome: "failed", job: r.manifest.job, backup_id: r.manifest.id, target, detail: { state: "untrusted", problem: r.trust.reason } });
        notify(ctx, alertMessage("verify_failed", r.manifest.job, `backup ${r.manifest.id} on ${target} is untrusted: ${r.trust.reason}`, { backup_id: r.manifest.id, target, state: "untrusted", problem: r.trust.reason }, ctx.now()));
      }
    }
  }
  return out;
}
function notFound(id) {
  throw new UsageError(`no backup with id "${id}" in the catalog`);
}

// dist/cli/commands/verify.js
async function verifyCommand(ctx, io, backupId, opts) {
  const request = { ...backupId ? { backupId } : {}, ...opts.job ? { job: opts.job } : {}, ...opts.target ? { target: opts.target } : {} };
  const results = await verifyBackups(ctx, request);
  if (opts.json)
    io.out(json(results));
  else if (results.length === 0)
    io.out("nothing to verify");
  else
    io.out(table(["BACKUP", "TARGET", "RESULT", "PROBLEM"], results.map((r) => [r.backup_id, r.target, r.state, r.problem ?? ""])));
  if (results.some((r) => r.state === "corrupt" || r.state === "missing")) {
    if (!opts.json)
      io.err("drctl: integrity failure: a copy does not match its recorded sha256");
    return 3;
  }
  if (results.some((r) => r.state === "untrusted")) {
    if (!opts.json)
      io.err("drctl: integrity failure: a backup on a target is not signed by a trusted key for where it lies");
    return 3;
  }
  return results.some((r) => !r.ok) ? 1 : 0;
}
export {
  verifyCommand
};
