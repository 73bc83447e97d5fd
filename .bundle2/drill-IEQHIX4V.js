import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  drillFailure,
  runDrill
} from "./chunk-LUE555QW.js";
import "./chunk-SCCCN6II.js";
import {
  restoreProgress
} from "./chunk-JKTGR3IM.js";
import "./chunk-3RFSNZYC.js";
import "./chunk-BDXB57VK.js";
import "./chunk-DUCIIMAT.js";
import "./chunk-G2AMMR5O.js";
import "./chunk-VKGJIJQW.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-TGE2FK6Q.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import "./chunk-O533N2YG.js";
import {
  json,
  phasesInSeconds
} from "./chunk-2VLLPNS3.js";
import "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-4KX4PRKL.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/drill.js
async function drillCommand(ctx, io, job, opts, signal) {
  const progress = process.stderr.isTTY ? restoreProgress(io, true) : void 0;
  let outcome;
  try {
    outcome = await runDrill(ctx, job, { ...opts.target ? { target: opts.target } : {}, signal, ...progress ? { onProgress: progress.onProgress } : {} });
  } finally {
    progress?.stop();
  }
  if (opts.json)
    io.out(json(phasesInSeconds(outcome)));
  else {
    const s = (ms) => `${(ms / 1e3).toFixed(1)} s`;
    io.out(`drill ${outcome.id} of ${job}: ${outcome.ok ? "ok" : "FAILED"}, backup ${outcome.backup_id ?? "-"} from ${outcome.from} in ${outcome.duration_seconds.toFixed(1)} s${outcome.rto_proven ? " (measured RTO)" : " (RTO not proven)"}`);
    const decrypt = outcome.phases.decrypt ? `, decrypt ${s(outcome.phases.decrypt)}` : "";
    io.out(`  download ${s(outcome.phases.download)}${decrypt}, restore ${s(outcome.phases.restore)} (overlapping), checks ${s(outcome.phases.checks)}`);
    for (const c of outcome.checks)
      io.out(`  ${c.ok ? "ok  " : "FAIL"} ${c.check}: ${c.detail}`);
    for (const w of outcome.warnings)
      io.out(`  warning: ${w}`);
  }
  const failure = drillFailure(outcome);
  if (failure) {
    if (!opts.json)
      io.err(`drctl: ${failure.message}`);
    return failure.exitCode;
  }
  return 0;
}
export {
  drillCommand
};
