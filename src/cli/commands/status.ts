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

/** One job, in lines of at most 80 columns for the usual names (the backup id gets a line of its own). */
function render(s: JobStatus, windowText: string, tty: boolean): string {
  const state = (v: string) => (tty ? `\u001b[${COLOURS[v] ?? 0}m${v.padEnd(8)}\u001b[0m` : v.padEnd(8));
  const at = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, "Z").replace("T", " ") : "-");
  const d = (seconds: number) => human(seconds * 1000);
  const w = s.window;
  const pad = " ".repeat(18);
  const cluster = s.type === "postgres_cluster";
  // A drill host knows the copies only on the targets it drilled from: it judges no policy.
  const drillHost = s.rpo_state === "not_measured";
  const rpoLines = s.rpo_state === "not_measured"
    ? [`not measured on a drill host; RPO ${d(s.rpo_seconds)}`]
    : s.last_backup_id
    ? cluster
      ? [`newest restorable moment ${d(s.age_seconds ?? 0)} old; RPO ${d(s.rpo_seconds)}`, `${pad}base backup ${s.last_backup_id} and its archived WAL`]
      : [`newest good backup ${d(s.age_seconds ?? 0)} old; RPO ${d(s.rpo_seconds)}`, `${pad}${s.last_backup_id}`]
    : cluster
      ? [`no restorable point yet: no base backup that meets`, `${pad}the policy with its WAL on every target; RPO ${d(s.rpo_seconds)}`]
      : [`no backup meets the policy yet; RPO ${d(s.rpo_seconds)}`];
  const drill = s.last_drill
    ? `last drill ${s.last_drill.ok ? "passed" : "FAILED"} ${at(s.last_drill.at)} in ${d(s.last_drill.duration_seconds)}`
    : "no drill yet";
  const rto = s.rto_seconds === null ? "no RTO set" : `RTO ${d(s.rto_seconds)}`;
  // The reason only where the drill line does not already say it.
  const reason = s.rto_reason && s.last_drill ? `\n${pad}${s.rto_reason}` : "";
  const slowest = w.rto.slowest_seconds === null ? "" : `, slowest ${d(w.rto.slowest_seconds)}`;
  return [
    `${s.job}`,
    `  RPO    ${state(s.rpo_state)} ${rpoLines.join("\n")}`,
    ...(s.failing ? [`  FAILING since ${at(s.failing.since)}, ${s.failing.runs} run${s.failing.runs === 1 ? "" : "s"}: ${s.failing.error}`.slice(0, 78), `${pad}(drctl events --job ${s.job} has every failure)`] : []),
    ...(s.rpo_state === "not_measured" ? [] : rpoWindow(w.rpo, windowText).map((l) => `         ${l}`)),
    `  copies ${drillHost ? "as drilled" : s.policy_ok === null ? "-" : s.policy_ok ? "policy ok" : "policy NOT met"}: ${s.copies.length ? s.copies.map((c) => `${c.target} ${c.state}`).join(", ") : "none"}`,
    ...(s.newest_backup_id && s.newest_backup_id !== s.last_backup_id ? [`${pad}(these are the newest backup's, ${s.newest_backup_id})`] : []),
    `  RTO    ${state(s.rto_state)} ${drill}; ${rto}${reason}`,
    `         last ${windowText}: ${count(w.rto.drills_passed, "drill")} passed, ${w.rto.drills_failed} failed${slowest}`,
    `  next   ${[...(s.next_backup_at ? [`backup ${at(s.next_backup_at)}`] : []), ...(s.next_drill_at ? [`drill ${at(s.next_drill_at)}`] : [])].join(", ") || "-"}`,
    ...(s.untrusted_backups.length > 0
      ? [`  trust  ${count(s.untrusted_backups.length, "backup")} no trusted key signed (--allow-unsigned):`, `${pad}restorable by name; never counted for RPO or retention`]
      : []),
    ...(s.clock_skew
      ? [`  clock  ${count(s.clock_skew.backup_ids.length, "backup")} dated ahead of this clock (newest ${at(s.clock_skew.newest_at)}):`, `${pad}kept; counted for neither RPO nor retention`]
      : []),
  ].join("\n");
}

/**
 * The RPO over the window, said so that the percentage explains itself: a share of the time
 * measured (from the job's first evaluation), with the part before its first backup named.
 */
export function rpoWindow(r: JobStatus["window"]["rpo"], windowText: string): string[] {
  if (r.share_ok === null) return [`last ${windowText}: not evaluated yet`];
  const measured = `last ${windowText}: ${(r.share_ok * 100).toFixed(1)}% of ${human(r.measured_seconds * 1000)} measured within RPO`;
  const before = r.before_first_backup_seconds > 0 ? [`         (${human(r.before_first_backup_seconds * 1000)} of it before the first backup)`] : [];
  const breaches = r.breaches === 0 ? "no breach" : `${count(r.breaches, "breach")}, longest ${human(r.longest_breach_seconds * 1000)}`;
  const worst = r.worst_age_seconds === null ? "" : `; worst age ${human(r.worst_age_seconds * 1000)}`;
  return [measured, ...before, `${breaches}${worst}`];
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : noun.endsWith("h") ? "es" : "s"}`;
