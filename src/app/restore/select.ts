import type { BackupView } from "../list.js";

/** Which backup a restore takes: `--backup ID`, else the newest at or before `--at`, else the newest that meets the policy. */
export function selectBackup(backups: readonly BackupView[], request: { backupId?: string; at?: number }): BackupView | string {
  if (request.backupId) return backups.find((b) => b.id === request.backupId) ?? `no backup with id "${request.backupId}"`;
  if (request.at !== undefined) {
    const at = request.at;
    const candidates = backups.filter((b) => Date.parse(b.snapshot_at) <= at && b.copies.some((c) => c.state === "verified" || c.state === "written"));
    return candidates[0] ?? `no backup with a usable copy at or before ${new Date(at).toISOString()}`;
  }
  return (
    backups.find((b) => b.policy_ok) ??
    backups.find((b) => b.copies.some((c) => c.state === "verified")) ??
    // Read from a target's manifests (no catalog): present, not re-read; the download checks sha256.
    backups.find((b) => b.copies.some((c) => c.state === "written")) ??
    "no backup with a usable copy"
  );
}

/** Where to read it: `--from`, else a verified local copy, else any verified copy. */
export function selectCopy(backup: BackupView, from: string | undefined, isLocal: (target: string) => boolean): string | undefined {
  if (from) return backup.copies.some((c) => c.target === from && c.state !== "deleted") ? from : undefined;
  const usable = [...backup.copies.filter((c) => c.state === "verified"), ...backup.copies.filter((c) => c.state === "written")];
  return (usable.find((c) => isLocal(c.target)) ?? usable[0])?.target;
}
