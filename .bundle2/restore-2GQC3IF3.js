import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  restore
} from "./chunk-SCCCN6II.js";
import {
  restoreProgress
} from "./chunk-JKTGR3IM.js";
import "./chunk-3RFSNZYC.js";
import "./chunk-BDXB57VK.js";
import "./chunk-G2AMMR5O.js";
import "./chunk-VKGJIJQW.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-O533N2YG.js";
import {
  json,
  phasesInSeconds
} from "./chunk-2VLLPNS3.js";
import "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import {
  UsageError
} from "./chunk-RSPIC3EP.js";
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-4KX4PRKL.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/restore.js
async function restoreCommand(ctx, io, job, flags, signal) {
  if (flags.backup && flags.at)
    throw new UsageError("give --backup or --at, not both");
  const at = flags.at === void 0 ? void 0 : Date.parse(flags.at);
  if (at !== void 0 && Number.isNaN(at))
    throw new UsageError(`--at: cannot read the time ${JSON.stringify(flags.at)} (e.g. 2026-11-23T10:00:00Z)`);
  const request = { job };
  const set = (k, v) => {
    if (v !== void 0)
      request[k] = v;
  };
  set("backupId", flags.backup);
  set("at", at);
  set("from", flags.from);
  set("toDb", flags.toDb);
  set("toDir", flags.toDir);
  set("paths", flags.path);
  set("stripPrefix", flags.stripPrefix);
  set("fullPaths", flags.fullPaths);
  set("database", flags.database);
  set("keyFile", flags.key);
  set("passphraseFile", flags.passphraseFile);
  set("clean", flags.clean);
  set("withGlobals", flags.withGlobals);
  set("noOwner", flags.noOwner);
  set("jobs", flags.jobs === void 0 ? void 0 : /^\d+$/.test(flags.jobs) ? Number(flags.jobs) : NaN);
  set("dryRun", flags.dryRun);
  set("allowUnsigned", flags.allowUnsigned);
  const progress = flags.dryRun ? void 0 : restoreProgress(io);
  if (progress)
    request.onProgress = progress.onProgress;
  let outcome;
  try {
    outcome = await restore(ctx, request, signal);
  } finally {
    progress?.stop();
  }
  for (const w of outcome.warnings)
    io.err(`drctl: warning: ${w}`);
  if (flags.json) {
    io.out(json(phasesInSeconds(outcome)));
    return 0;
  }
  const d = outcome.destination;
  const to = "database" in d ? `database ${d.database}${d.jobs > 1 ? ` (${d.jobs} sessions)` : ""}` : `${d.directory}${d.paths ? ` (${d.paths.join(", ")} only)` : ""}${d.strip_prefix !== "/" ? `, without the leading ${d.strip_prefix}` : ""}`;
  if (outcome.dry_run) {
    io.out(`would restore ${outcome.backup_id} (${outcome.snapshot_at}) from ${outcome.from} (${outcome.location}) into ${to}`);
    return 0;
  }
  const s = (ms) => `${(ms / 1e3).toFixed(1)} s`;
  io.out(`restored ${outcome.backup_id} (${outcome.snapshot_at}) from ${outcome.from} into ${to}`);
  const decrypt = outcome.phases.decrypt ? `, decrypt ${s(outcome.phases.decrypt)}` : "";
  io.out(`  download ${s(outcome.phases.download)}${decrypt}, restore ${s(outcome.phases.restore)} (overlapping), check ${s(outcome.phases.check)}; ${outcome.checked}`);
  return 0;
}
export {
  restoreCommand
};
