import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  replicatePending
} from "./chunk-3KINAKSH.js";
import "./chunk-TGE2FK6Q.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import {
  json,
  table
} from "./chunk-2VLLPNS3.js";
import {
  jobOf
} from "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/replicate.js
async function replicateCommand(ctx, io, opts) {
  if (opts.job)
    jobOf(ctx, opts.job);
  const results = await replicatePending(ctx, { ...opts.job ? { job: opts.job } : {}, force: true });
  if (opts.json)
    io.out(json(results));
  else if (results.length === 0)
    io.out("no pending copies");
  else
    io.out(table(["BACKUP", "TARGET", "STATE", "ERROR"], results.map((r) => [r.backup_id, r.target, r.state, r.error ?? ""])));
  const unsourced = results.filter((r) => r.state === "no_source").length;
  if (unsourced > 0 && !opts.json)
    io.err(`drctl: warning: ${unsourced} cop${unsourced === 1 ? "y" : "ies"} cannot be written: no verified copy is left to copy from (drctl verify; the next backup replaces ${unsourced === 1 ? "it" : "them"})`);
  return results.some((r) => r.state === "pending") ? 1 : 0;
}
export {
  replicateCommand
};
