import type { AppContext } from "../../app/context.js";
import { jobOf } from "../../app/context.js";
import { listBackups, listBackupsOnTarget, type BackupView } from "../../app/list.js";
import type { Output } from "../io.js";
import { bytes, json, table } from "../render.js";

export async function listCommand(ctx: AppContext, io: Output, job: string | undefined, opts: { json?: boolean; from?: string }): Promise<number> {
  if (job) jobOf(ctx, job);
  const backups: BackupView[] = opts.from ? await listBackupsOnTarget(ctx, opts.from, job) : listBackups(ctx, job);
  if (opts.json) {
    io.out(json(backups));
    return 0;
  }
  if (backups.length === 0) {
    io.out(job ? `no backups of ${job}` : "no backups");
    return 0;
  }
  io.out(
    table(
      ["ID", "JOB", "KIND", "SNAPSHOT", "SIZE", "POLICY", "COPIES", ...(opts.from ? ["TRUST"] : [])],
      backups.map((b) => [
        b.id,
        b.job,
        b.kind + (b.encrypted ? "+gpg" : ""),
        b.snapshot_at.replace(/\.\d+Z$/, "Z"),
        bytes(b.size),
        b.policy_ok ? "ok" : `short: ${b.policy.missing.join(", ")}`,
        b.copies.map((c) => `${c.target}:${c.state}`).join(" "),
        ...(opts.from ? [b.state === "untrusted" ? `untrusted: ${b.untrusted_reason}` : "signed"] : []),
      ]),
    ),
  );
  return 0;
}
