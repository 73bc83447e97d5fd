/**
 * What each command prints with --json: one type per command, from which
 * docs/json/<command>.schema.json is generated (npm run gen:schema, which names the type of
 * each command) and against which the tests check the real output. Field names are snake_case, durations are seconds with the
 * unit in the name, sizes are bytes, times ISO 8601.
 */
import type { Finding } from "../app/config-check/findings.js";
import type { DrillOutcome } from "../app/drill.js";
import type { BackupView } from "../app/list.js";
import type { PruneReport } from "../app/prune.js";
import type { WalSetupReport } from "../app/wal-setup.js";
import type { ReplicationResult } from "../app/replicate.js";
import type { RestoreOutcome } from "../app/restore/restore.js";
import type { JobStatus } from "../app/status.js";
import type { CopyVerification } from "../app/verify.js";
import type { EventRow } from "../catalog/catalog.js";
import type { EvidenceReport } from "../app/report.js";
import type { ClusterRestoreOutcome } from "../app/restore/cluster.js";

type Seconds<P> = { [K in keyof P]: number };

/** `drctl backup --json` */
export type BackupOutput = Pick<BackupView, "id" | "job" | "kind" | "snapshot_at" | "finished_at" | "size" | "sha256" | "encrypted" | "policy_ok" | "policy" | "copies"> & {
  duration_seconds: number;
  /** Files backups: the paths left out (unreadable with skip_unreadable, or not a file, directory or symlink), how many, and the first ones. */
  skipped?: { count: number; first: { path: string; reason: string }[] };
  /** Cluster jobs: the restore point made right after the base backup, with the row counts of the job database's user tables there (state counted), or why not. */
  restore_point?: RestorePointOutput;
};
/** The manifest's restore_point, written out (the schema generator reads no zod types). */
type RestorePointOutput =
  | { state: "counted"; name: string; lsn: string; database: string; tables: { schema: string; table: string; rows: number }[]; tables_total: number }
  | { state: "uncounted"; name: string; lsn: string; database: string; reason: string }
  | { state: "none"; reason: string };
/** `drctl list --json` (also with --from) */
export type ListOutput = BackupView[];
/** `drctl status --json` */
export type StatusOutput = JobStatus[];
/** `drctl verify --json` */
export type VerifyOutput = CopyVerification[];
/** `drctl prune --json` */
export type PruneOutput = PruneReport;
/** `drctl replicate --json` */
export type ReplicateOutput = ReplicationResult[];
/** `drctl events --json` */
export type EventsOutput = (Omit<EventRow, "at" | "kind"> & {
  at: string;
  /** What happened: the same word an alert's `event` carries (backup_failed, rpo_breach, drill_ok, ...). */
  event: string;
  /** @deprecated The same as `event`, under its old name; removed in the next release. */
  kind: string;
})[];
/** `drctl drill --json` */
export type DrillOutput = Omit<DrillOutcome, "phases"> & { phases_seconds: Seconds<DrillOutcome["phases"]> };
/** `drctl restore --json` */
export type RestoreOutput = (Omit<RestoreOutcome, "phases"> & { phases_seconds: Seconds<RestoreOutcome["phases"]> }) | ClusterRestoreOutcome;
/** `drctl config check --json` */
export interface ConfigCheckOutput {
  config: string;
  ok: boolean;
  /** The user whose access was judged; null when the config did not validate. */
  checked_as: string | null;
  online: boolean;
  problems: Finding[];
  warnings: Finding[];
  passed: Finding[];
}
/** `drctl audit verify --json` */
/** `compared`: what the trail was checked against (the catalog's anchor, signed manifests); `head`: the sha256 of its last line. */
export type AuditVerifyOutput = { path: string; compared: string[]; ok: true; lines: number; head: string } | { path: string; compared: string[]; ok: false; line: number; problem: string };
/** `drctl alerts test --json` */
/** `to`: where the channel delivers (a webhook's URL without credentials, an SMTP server, a command). */
export type AlertsTestOutput = { channel: string; type: string; to: string; ok: boolean; error: string | null }[];
/** `drctl init --json` */
export interface InitOutput {
  config: string;
  recipient: { fingerprint: string; public_key: string; private_key: string };
  signing: { fingerprint: string; public_key: string; private_key: string };
}
/** Any command's error under --json (on stdout). */
export interface ErrorOutput {
  error: string;
  exit_code: number;
  /** A config that does not validate: every problem as `<path>: <message>`. */
  problems?: string[];
}

/** `drctl wal setup JOB --json` */
export type WalSetupOutput = WalSetupReport;
/** `drctl report --json` */
export type ReportOutput = EvidenceReport;
