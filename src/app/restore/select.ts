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

/** Where to read it: `--from`, else a verified local copy, else any verified copy; never one in `avoid` (tried and failed). */
export function selectCopy(backup: BackupView, from: string | undefined, isLocal: (target: string) => boolean, avoid: ReadonlySet<string> = new Set()): string | undefined {
  if (from) return backup.copies.some((c) => c.target === from && c.state !== "deleted") ? from : undefined;
  const usable = [...backup.copies.filter((c) => c.state === "verified"), ...backup.copies.filter((c) => c.state === "written")].filter((c) => !avoid.has(c.target));
  return (usable.find((c) => isLocal(c.target)) ?? usable[0])?.target;
}

/** `untrusted`: refused for trust (an integrity refusal), not because nothing matched. */
export type TrustedChoice = { picked: BackupView } | { refused: string; untrusted: boolean };

/**
 * A selection that trust bounds. An untrusted backup (no trusted key signed it: planted,
 * moved, or made before signing) is taken only when named with --backup, or when the job
 * has no trusted backup at all, and in both cases only with `allowUnsigned`; it never wins
 * "newest" or "--at" over a trusted one. `where` names the place ("on local", "in the catalog").
 */
export function chooseTrusted(backups: readonly BackupView[], request: { backupId?: string; at?: number }, allowUnsigned: boolean, where: string): TrustedChoice {
  const trusted = backups.filter((b) => b.state !== "untrusted");
  const pool = request.backupId || trusted.length === 0 ? backups : trusted;
  const picked = selectBackup(pool, request);
  if (typeof picked === "string") return { refused: picked, untrusted: false };
  if (picked.state !== "untrusted" || allowUnsigned) return { picked };
  const instead = trusted[0] ? `; the newest trusted backup is ${trusted[0].id} (--backup ${trusted[0].id})` : "";
  return {
    untrusted: true,
    refused:
      `backup ${picked.job}/${picked.id} ${where} is untrusted: ${picked.untrusted_reason ?? "no trusted key signed it"}. ` +
      `Whoever can write to the storage could have put it there, and restoring it runs what it holds (a dump's SQL, files in place); ` +
      `restore refused${instead}. A backup made before signing can still be restored on purpose: see drctl restore --help`,
  };
}
