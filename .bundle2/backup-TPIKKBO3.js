import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  backupProgress
} from "./chunk-JKTGR3IM.js";
import {
  runBackup
} from "./chunk-J5ZRPNSQ.js";
import "./chunk-BYYJXBFC.js";
import "./chunk-3RFSNZYC.js";
import "./chunk-BDXB57VK.js";
import "./chunk-53XWSFGR.js";
import "./chunk-DUCIIMAT.js";
import "./chunk-IYRTIMZK.js";
import "./chunk-G2AMMR5O.js";
import "./chunk-VKGJIJQW.js";
import {
  backupView
} from "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-3KINAKSH.js";
import "./chunk-TGE2FK6Q.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import {
  formatDuration
} from "./chunk-O533N2YG.js";
import {
  bytes,
  json
} from "./chunk-2VLLPNS3.js";
import "./chunk-E3O23EDR.js";
import "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-4KX4PRKL.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/backup.js
async function backupCommand(ctx, io, job, opts) {
  const progress = backupProgress(io);
  let outcome;
  try {
    outcome = await runBackup(ctx, job, { trigger: "manual", signal: opts.signal, ...progress.onProgress ? { onProgress: progress.onProgress } : {} });
  } finally {
    progress.stop();
  }
  const view = backupView(ctx.config, ctx.catalog.getBackup(outcome.id));
  if (opts.json) {
    const { id, job: name, kind, snapshot_at, finished_at, size, sha256, encrypted, policy_ok, policy, copies } = view;
    const out = { id, job: name, kind, snapshot_at, finished_at, size, sha256, encrypted, duration_seconds: outcome.durationMs / 1e3, policy_ok, policy, copies };
    io.out(json(out));
    return 0;
  }
  io.out(`backup ${outcome.id}: ${bytes(outcome.size)} in ${formatDuration(outcome.durationMs / 1e3)}, sha256 ${outcome.sha256}`);
  for (const c of view.copies)
    io.out(`  ${c.target}: ${c.state}${c.error ? ` (${c.error})` : ""}${retry(c)}`);
  if (view.policy_ok)
    io.out(`policy met: ${policySummary(view)}`);
  else {
    const short = view.copies.filter((c) => c.state !== "verified").map((c) => `${c.target} ${c.state}${retry(c)}`);
    io.err(`drctl: policy NOT met: ${view.policy.missing.join(", ")}${short.length > 0 ? `; ${short.join(", ")}` : ""}`);
  }
  return 0;
}
function retry(c) {
  if (c.state !== "pending")
    return "";
  if (!c.next_attempt_at)
    return ", retried now";
  return `, next retry ${c.next_attempt_at.slice(11, 19)} UTC`;
}
function policySummary(view) {
  const p = view.policy;
  return `${p.copies} verified cop${p.copies === 1 ? "y" : "ies"}, ${p.media} media kind${p.media === 1 ? "" : "s"}, ${p.offsite} offsite`;
}
export {
  backupCommand
};
