import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  readTargetManifests,
  rowFromManifest
} from "./chunk-6XYF5PTU.js";

// dist/policy/three-two-one.js
function evaluateCopies(copies, policy) {
  const verified = copies.filter((c) => c.state === "verified");
  const media = new Set(verified.map((c) => c.media)).size;
  const offsite = verified.filter((c) => c.offsite).length;
  const missing = [];
  if (verified.length < policy.copies)
    missing.push(`${verified.length} of ${policy.copies} verified copies`);
  if (media < policy.media)
    missing.push(`${media} of ${policy.media} media kinds`);
  if (offsite < policy.offsite)
    missing.push(`${offsite} of ${policy.offsite} offsite copies`);
  return { ok: missing.length === 0, copies: verified.length, media, offsite, missing };
}

// dist/app/list.js
var iso = (ms) => ms === null ? null : new Date(ms).toISOString();
function policyVerdict(config, copies) {
  return evaluateCopies(copies.map((c) => ({
    state: c.state,
    media: config.targets[c.target]?.media ?? `unknown:${c.target}`,
    offsite: config.targets[c.target]?.offsite ?? false
  })), config.policy);
}
function backupView(config, b) {
  const policy = policyVerdict(config, b.copies);
  return {
    id: b.id,
    job: b.job,
    kind: b.kind,
    snapshot_at: iso(b.snapshot_at),
    finished_at: iso(b.finished_at),
    size: b.size,
    sha256: b.sha256,
    state: "complete",
    encrypted: b.encryption !== null,
    policy_ok: policy.ok,
    policy,
    copies: b.copies.map((c) => ({
      target: c.target,
      state: c.state,
      location: c.location,
      written_at: iso(c.written_at),
      verified_at: iso(c.verified_at),
      error: c.error,
      next_attempt_at: c.state === "pending" ? iso(c.next_attempt_at ?? null) : null
    }))
  };
}
function listBackups(ctx, job) {
  return ctx.catalog.listBackups(job ? { job } : {}).map((b) => backupView(ctx.config, b));
}
async function listBackupsOnTarget(ctx, target, job) {
  return (await readTargetManifests(ctx, target, job)).map((r) => {
    const view = backupView(ctx.config, rowFromManifest(ctx, target, r));
    return r.trust.trusted ? view : { ...view, state: "untrusted", untrusted_reason: r.trust.reason };
  });
}

export {
  policyVerdict,
  backupView,
  listBackups,
  listBackupsOnTarget
};
