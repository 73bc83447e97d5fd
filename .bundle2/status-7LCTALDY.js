import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  anyBreach,
  jobStatuses
} from "./chunk-NSPPPXXN.js";
import {
  human
} from "./chunk-I33KIAG5.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import "./chunk-TAK6QB6Z.js";
import {
  parseDuration
} from "./chunk-O533N2YG.js";
import {
  json
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
import "./chunk-CB5SUWAA.js";

// dist/cli/commands/status.js
var DEFAULT_WINDOW = "30d";
function statusCommand(ctx, io, job, opts, tty = Boolean(process.stdout.isTTY)) {
  const windowText = opts.window ?? DEFAULT_WINDOW;
  const windowSeconds = parseDuration(windowText);
  if (windowSeconds === void 0)
    throw new UsageError(`--window: invalid duration ${JSON.stringify(windowText)} (e.g. 24h, 30d)`);
  const statuses = jobStatuses(ctx, { ...job ? { job } : {}, windowMs: windowSeconds * 1e3 });
  if (opts.json)
    io.out(json(statuses));
  else
    io.out(statuses.map((s) => render(s, windowText, tty)).join("\n\n"));
  return opts.check && anyBreach(statuses) ? 1 : 0;
}
var COLOURS = { ok: 32, breach: 31, never: 33, untested: 33 };
function render(s, windowText, tty) {
  const state = (v) => tty ? `\x1B[${COLOURS[v] ?? 0}m${v.padEnd(8)}\x1B[0m` : v.padEnd(8);
  const at = (iso) => iso ? iso.replace(/:\d\d\.\d+Z$/, "Z").replace("T", " ") : "-";
  const w = s.window;
  const rpoLine = s.last_backup_id ? `newest good backup ${human((s.age_seconds ?? 0) * 1e3)} old, RPO ${human(s.rpo_seconds * 1e3)} (${s.last_backup_id})` : `no backup meets the policy yet, RPO ${human(s.rpo_seconds * 1e3)}`;
  const share = w.rpo.share_ok === null ? "not evaluated yet" : `${(w.rpo.share_ok * 100).toFixed(1)}% within`;
  const worst = w.rpo.worst_age_seconds === null ? "" : `, worst age ${human(w.rpo.worst_age_seconds * 1e3)}`;
  const copies = s.copies.length ? s.copies.map((c) => `${c.target} ${c.state}`).join(", ") : "none";
  const drill = s.last_drill ? `last drill ${s.last_drill.ok ? "passed" : "FAILED"} ${at(s.last_drill.at)}, ${human(s.last_drill.duration_seconds * 1e3)}${s.last_drill.rto_proven ? "" : " (integrity only)"}` : "no drill yet";
  const rto = s.rto_seconds === null ? "no RTO set" : `RTO ${human(s.rto_seconds * 1e3)}`;
  const slowest = w.rto.slowest_seconds === null ? "" : `, slowest ${human(w.rto.slowest_seconds * 1e3)}`;
  return [
    `${s.job}`,
    `  RPO    ${state(s.rpo_state)} ${rpoLine}`,
    `         ${windowText}: ${share}, ${w.rpo.breaches} breach(es), longest ${human(w.rpo.longest_breach_seconds * 1e3)}${worst}`,
    `  copies ${s.policy_ok === null ? "-" : s.policy_ok ? "policy ok" : "policy NOT met"}: ${copies}${s.newest_backup_id && s.newest_backup_id !== s.last_backup_id ? ` (newest ${s.newest_backup_id})` : ""}`,
    `  RTO    ${state(s.rto_state)} ${drill}; ${rto}${s.rto_reason ? `; ${s.rto_reason}` : ""}`,
    `         ${windowText}: ${w.rto.drills_passed} drill(s) passed, ${w.rto.drills_failed} failed${slowest}`,
    `  next   backup ${at(s.next_backup_at)}${s.next_drill_at ? `, drill ${at(s.next_drill_at)}` : ""}`
  ].join("\n");
}
export {
  statusCommand
};
