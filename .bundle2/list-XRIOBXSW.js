import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  listBackups,
  listBackupsOnTarget
} from "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import {
  bytes,
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
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/list.js
var MAX_COLUMNS = 100;
async function listCommand(ctx, io, job, opts) {
  if (job)
    jobOf(ctx, job);
  const backups = opts.from ? await listBackupsOnTarget(ctx, opts.from, job) : listBackups(ctx, job);
  if (opts.json) {
    io.out(json(backups));
    return 0;
  }
  if (backups.length === 0) {
    io.out(job ? `no backups of ${job}` : "no backups");
    return 0;
  }
  const long = opts.long === true;
  const rows = table(long ? ["ID", "JOB", "KIND", "SNAPSHOT", "SIZE", "POLICY", "COPIES", ...opts.from ? ["TRUST"] : []] : ["ID", "KIND", "SNAPSHOT", "SIZE", "POLICY", "COPIES", ...opts.from ? ["TRUST"] : []], backups.map((b) => [
    b.id,
    ...long ? [b.job] : [],
    b.kind + (b.encrypted ? "+gpg" : ""),
    long ? b.snapshot_at.replace(/\.\d+Z$/, "Z") : b.snapshot_at.slice(0, 16).replace("T", " "),
    bytes(b.size),
    b.policy_ok ? "ok" : long ? `short: ${b.policy.missing.join(", ")}` : "short",
    b.copies.map((c) => `${c.target}:${c.state}`).join(" "),
    ...opts.from ? [b.state === "untrusted" ? long ? `untrusted: ${b.untrusted_reason}` : "untrusted" : "signed"] : []
  ]));
  const width = opts.columns === void 0 || long ? Infinity : Math.min(opts.columns, MAX_COLUMNS);
  io.out(rows.split("\n").map((line) => line.length > width ? `${line.slice(0, width - 1)}\u2026` : line).join("\n"));
  if (!long && backups.some((b) => !b.policy_ok))
    io.out("(short: the policy is not met; drctl list --long or drctl status says what is missing)");
  return 0;
}
export {
  listCommand
};
