import type { AppContext } from "../../app/context.js";
import { jobOf } from "../../app/context.js";
import { listBackups, listBackupsOnTarget } from "../../app/list.js";
import type { Output } from "../io.js";
import { bytes, json, table } from "../render.js";

/** `drctl list [JOB] [--long] [--from T] [--json]`: fits a terminal's width; --long every column, --json everything. */
export async function listCommand(ctx: AppContext, io: Output, job: string | undefined, opts: { json?: boolean; from?: string; long?: boolean }): Promise<number> {
  if (job) jobOf(ctx, job);
  const { backups, invalid, hidden, problems } = opts.from
    ? await listBackupsOnTarget(ctx, opts.from, job)
    : { backups: listBackups(ctx, job).map((b) => ({ ...b, policy_judged: true })), invalid: [], hidden: [], problems: [] };
  // Never silently absent: a place whose manifest cannot be used is named, on stderr so --json stays a list of backups.
  for (const i of invalid) io.err(`invalid: ${i.job}/${i.id} on ${opts.from}: ${i.reason}`);
  for (const h of hidden) io.err(`hidden: ${h.job}/${h.id} on ${opts.from}: ${h.reason}`);
  for (const p of problems) io.err(`warning: ${p}`);
  if (opts.json) {
    io.out(json(backups.map(({ policy_judged: _, ...b }) => b)));
    return 0;
  }
  if (backups.length === 0) {
    io.out(job ? `no backups of ${job}` : "no backups");
    return 0;
  }
  const long = opts.long === true;
  // The short view fits 80 columns: the policy verdict leads the copies, and a verified copy
  // is named by its target alone so that the other states stand out.
  const copies = (b: (typeof backups)[number]) => b.copies.map((c) => (long || c.state !== "verified" ? `${c.target}:${c.state}` : c.target)).join(" ");
  const trust = (b: (typeof backups)[number]) => (opts.from ? [b.state === "untrusted" ? (long ? `untrusted: ${b.untrusted_reason}` : "untrusted") : "signed"] : []);
  io.out(
    long
      ? table(
          ["ID", "JOB", "KIND", "SNAPSHOT", "SIZE", "POLICY", "COPIES", ...(opts.from ? ["TRUST"] : [])],
          backups.map((b) => [b.id, b.job, b.kind + (b.encrypted ? "+gpg" : ""), b.snapshot_at.replace(/\.\d+Z$/, "Z"), bytes(b.size), !b.policy_judged ? "? (one target seen)" : b.policy_ok ? "ok" : `short: ${b.policy.missing.join(", ")}`, copies(b), ...trust(b)]),
          io.columns,
        )
      : table(
          ["ID", "SNAPSHOT", "SIZE", ...(opts.from ? ["TRUST"] : []), "POLICY: COPIES"],
          backups.map((b) => [b.id, b.snapshot_at.slice(0, 16).replace("T", " "), bytes(b.size), ...trust(b), `${!b.policy_judged ? "?" : b.policy_ok ? "ok" : "SHORT"}: ${copies(b)}`]),
          io.columns,
        ),
  );
  if (!long && backups.some((b) => b.policy_judged && !b.policy_ok)) io.out("(SHORT: policy not met; drctl list --long or drctl status says what is missing)");
  if (backups.some((b) => !b.policy_judged)) io.out("(?: not in this catalog, and one target shows one copy: the policy is not judged)");
  return 0;
}
