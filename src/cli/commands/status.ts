import type { AppContext } from "../../app/context.js";
import { human } from "../../app/human.js";
import { anyBreach, daemonStatus, jobStatuses, type DaemonStatus, type JobStatus } from "../../app/status.js";
import { parseDuration } from "../../config/duration.js";
import { UsageError } from "../../errors.js";
import type { Output } from "../io.js";
import { json } from "../render.js";

const DEFAULT_WINDOW = "30d";

/** `drctl status`: each job's objectives now and over a window; `--check` exits 1 on any breach. */
export function statusCommand(ctx: AppContext, io: Output, job: string | undefined, opts: { json?: boolean; check?: boolean; window?: string }, tty = Boolean(process.stdout.isTTY)): number {
  const windowText = opts.window ?? DEFAULT_WINDOW;
  const windowSeconds = parseDuration(windowText);
  if (windowSeconds === undefined) throw new UsageError(`--window: invalid duration ${JSON.stringify(windowText)} (e.g. 24h, 30d)`);
  const statuses = jobStatuses(ctx, { ...(job ? { job } : {}), windowMs: windowSeconds * 1000 });
  if (opts.json) io.out(json(statuses));
  else io.out([daemonLine(daemonStatus(ctx)), ...statuses.map((s) => render(s, windowText, tty))].join("\n\n"));
  return opts.check && anyBreach(statuses) ? 1 : 0;
}

function daemonLine(d: DaemonStatus): string {
  const build = (b: { version: string; build: string }) => `drd ${b.version} (build ${b.build})`;
  if (!d.running) return `daemon not running on this state dir; installed: ${build(d.installed)}`;
  const line = `daemon pid ${d.running.pid}, running ${build(d.running)}`;
  return d.stale ? `${line}; installed: ${build(d.installed)}: restart the daemon to run it (systemctl restart drd)` : line;
}

const COLOURS: Record<string, number> = { ok: 32, breach: 31, never: 33, untested: 33 };

function render(s: JobStatus, windowText: string, tty: boolean): string {
  const state = (v: string) => (tty ? `\u001b[${COLOURS[v] ?? 0}m${v.padEnd(8)}\u001b[0m` : v.padEnd(8));
  const at = (iso: string | null) => (iso ? iso.replace(/:\d\d\.\d+Z$/, "Z").replace("T", " ") : "-");
  const w = s.window;
  const rpoLine = s.last_backup_id
    ? `newest good backup ${human((s.age_seconds ?? 0) * 1000)} old, RPO ${human(s.rpo_seconds * 1000)} (${s.last_backup_id})`
    : `no backup meets the policy yet, RPO ${human(s.rpo_seconds * 1000)}`;
  const share = w.rpo.share_ok === null ? "not evaluated yet" : `${(w.rpo.share_ok * 100).toFixed(1)}% within`;
  const worst = w.rpo.worst_age_seconds === null ? "" : `, worst age ${human(w.rpo.worst_age_seconds * 1000)}`;
  const copies = s.copies.length ? s.copies.map((c) => `${c.target} ${c.state}`).join(", ") : "none";
  const drill = s.last_drill
    ? `last drill ${s.last_drill.ok ? "passed" : "FAILED"} ${at(s.last_drill.at)}, ${human(s.last_drill.duration_seconds * 1000)}${s.last_drill.rto_proven ? "" : " (integrity only)"}`
    : "no drill yet";
  const rto = s.rto_seconds === null ? "no RTO set" : `RTO ${human(s.rto_seconds * 1000)}`;
  const slowest = w.rto.slowest_seconds === null ? "" : `, slowest ${human(w.rto.slowest_seconds * 1000)}`;
  return [
    `${s.job}`,
    `  RPO    ${state(s.rpo_state)} ${rpoLine}`,
    `         ${windowText}: ${share}, ${w.rpo.breaches} breach(es), longest ${human(w.rpo.longest_breach_seconds * 1000)}${worst}`,
    `  copies ${s.policy_ok === null ? "-" : s.policy_ok ? "policy ok" : "policy NOT met"}: ${copies}${s.newest_backup_id && s.newest_backup_id !== s.last_backup_id ? ` (newest ${s.newest_backup_id})` : ""}`,
    `  RTO    ${state(s.rto_state)} ${drill}; ${rto}${s.rto_reason ? `; ${s.rto_reason}` : ""}`,
    `         ${windowText}: ${w.rto.drills_passed} drill(s) passed, ${w.rto.drills_failed} failed${slowest}`,
    `  next   backup ${at(s.next_backup_at)}${s.next_drill_at ? `, drill ${at(s.next_drill_at)}` : ""}`,
    ...(s.untrusted_backups.length > 0
      ? [`  trust  ${s.untrusted_backups.length} backup(s) no trusted key signed, admitted with --allow-unsigned: restorable by name, never counted for RPO or retention`]
      : []),
    ...(s.clock_skew
      ? [`  clock  ${s.clock_skew.backup_ids.length} backup(s) dated ahead of this host's clock (newest ${at(s.clock_skew.newest_at)}): kept, not counted for RPO or retention`]
      : []),
  ].join("\n");
}
