import { runBackup } from "../../app/backup.js";
import { parseManifest } from "../../catalog/catalog.js";
import type { Manifest } from "../../manifest.js";
import type { AppContext } from "../../app/context.js";
import { backupView, type BackupView } from "../../app/list.js";
import { formatDuration } from "../../config/duration.js";
import type { Output } from "../io.js";
import type { BackupOutput } from "../json-output.js";
import { backupProgress } from "../progress.js";
import { bytes, json } from "../render.js";
import { restorePointWarning } from "../../sources/cluster.js";

/**
 * `drctl backup JOB`: exit 0 once the backup is complete and recorded. A backup that landed
 * but misses the 3-2-1 policy (a copy pending after an outage) says so, with each copy's
 * state and when it is retried.
 */
export async function backupCommand(ctx: AppContext, io: Output, job: string, opts: { json?: boolean; signal: AbortSignal }): Promise<number> {
  const progress = backupProgress(io);
  let outcome;
  try {
    outcome = await runBackup(ctx, job, { trigger: "manual", signal: opts.signal, ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) });
  } finally {
    progress.stop();
  }
  const row = ctx.catalog.getBackup(outcome.id)!;
  const view = backupView(ctx.config, row);
  const manifest = parseManifest(row);
  const skipped = skippedOf(manifest);
  const restorePoint = manifest.kind === "postgres_cluster" ? manifest.cluster.restore_point : undefined;
  const pointWarning = restorePointWarning(restorePoint);
  if (opts.json) {
    const { id, job: name, kind, snapshot_at, finished_at, size, sha256, encrypted, policy_ok, policy, copies } = view;
    const out: BackupOutput = { id, job: name, kind, snapshot_at, finished_at, size, sha256, encrypted, duration_seconds: outcome.durationMs / 1000, policy_ok, policy, copies, ...(skipped ? { skipped } : {}), ...(restorePoint ? { restore_point: restorePoint } : {}) };
    io.out(json(out));
    return 0;
  }
  if (skipped)
    io.err(`drctl: warning: ${skipped.count} path(s) left out (skip_unreadable, or not a file, directory or symlink): ${skipped.first.slice(0, 5).map((p) => `${p.path} (${p.reason})`).join(", ")}${skipped.count > 5 ? ", ..." : ""}`);
  if (pointWarning) io.err(`drctl: warning: ${pointWarning}`);
  io.out(`backup ${outcome.id}: ${bytes(outcome.size)} in ${formatDuration(outcome.durationMs / 1000)}, sha256 ${outcome.sha256}`);
  for (const c of view.copies) io.out(`  ${c.target}: ${c.state}${c.error ? ` (${c.error})` : ""}${retry(c)}`);
  if (view.policy_ok) io.out(`policy met: ${policySummary(view)}`);
  else {
    const short = view.copies.filter((c) => c.state !== "verified").map((c) => `${c.target} ${c.state}${retry(c)}`);
    io.err(`drctl: policy NOT met: ${view.policy.missing.join(", ")}${short.length > 0 ? `; ${short.join(", ")}` : ""}`);
  }
  return 0;
}

function retry(c: BackupView["copies"][number]): string {
  if (c.state !== "pending") return "";
  if (!c.next_attempt_at) return ", retried now";
  return `, next retry ${c.next_attempt_at.slice(11, 19)} UTC`;
}

function policySummary(view: BackupView): string {
  const p = view.policy;
  return `${p.copies} verified cop${p.copies === 1 ? "y" : "ies"}, ${p.media} media kind${p.media === 1 ? "" : "s"}, ${p.offsite} offsite`;
}

/** What a files backup left out, when it left anything out. */
function skippedOf(m: Manifest): BackupOutput["skipped"] {
  if (m.kind !== "files") return undefined;
  const count = m.files.skipped_count ?? m.files.skipped.length;
  return count > 0 ? { count, first: m.files.skipped } : undefined;
}
