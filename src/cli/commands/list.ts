import type { AppContext } from "../../app/context.js";
import { jobOf } from "../../app/context.js";
import { listBackups, listBackupsOnTarget } from "../../app/list.js";
import type { Output } from "../io.js";
import { bytes, json, table } from "../render.js";

const MAX_COLUMNS = 100;

/** `drctl list [JOB] [--long] [--from T] [--json]`; `columns`: the terminal's width when stdout is one. */
export async function listCommand(ctx: AppContext, io: Output, job: string | undefined, opts: { json?: boolean; from?: string; long?: boolean; columns?: number }): Promise<number> {
  if (job) jobOf(ctx, job);
  const { backups, invalid, hidden, problems } = opts.from ? await listBackupsOnTarget(ctx, opts.from, job) : { backups: listBackups(ctx, job), invalid: [], hidden: [], problems: [] };
  // Never silently absent: a place whose manifest cannot be used is named, on stderr so --json stays a list of backups.
  for (const i of invalid) io.err(`invalid: ${i.job}/${i.id} on ${opts.from}: ${i.reason}`);
  for (const h of hidden) io.err(`hidden: ${h.job}/${h.id} on ${opts.from}: ${h.reason}`);
  for (const p of problems) io.err(`warning: ${p}`);
  if (opts.json) {
    io.out(json(backups));
    return 0;
  }
  if (backups.length === 0) {
    io.out(job ? `no backups of ${job}` : "no backups");
    return 0;
  }
  const long = opts.long === true;
  const rows = table(
    long
      ? ["ID", "JOB", "KIND", "SNAPSHOT", "SIZE", "POLICY", "COPIES", ...(opts.from ? ["TRUST"] : [])]
      : ["ID", "KIND", "SNAPSHOT", "SIZE", "POLICY", "COPIES", ...(opts.from ? ["TRUST"] : [])],
    backups.map((b) => [
      b.id,
      ...(long ? [b.job] : []),
      b.kind + (b.encrypted ? "+gpg" : ""),
      long ? b.snapshot_at.replace(/\.\d+Z$/, "Z") : b.snapshot_at.slice(0, 16).replace("T", " "),
      bytes(b.size),
      b.policy_ok ? "ok" : long ? `short: ${b.policy.missing.join(", ")}` : "short",
      b.copies.map((c) => `${c.target}:${c.state}`).join(" "),
      ...(opts.from ? [b.state === "untrusted" ? (long ? `untrusted: ${b.untrusted_reason}` : "untrusted") : "signed"] : []),
    ]),
  );
  // On a terminal the short table keeps to the screen (100 columns at most); --long and
  // status give the detail, --json everything.
  const width = opts.columns === undefined || long ? Infinity : Math.min(opts.columns, MAX_COLUMNS);
  io.out(
    rows
      .split("\n")
      .map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line))
      .join("\n"),
  );
  if (!long && backups.some((b) => !b.policy_ok)) io.out("(short: the policy is not met; drctl list --long or drctl status says what is missing)");
  return 0;
}
