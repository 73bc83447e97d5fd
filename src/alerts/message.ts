import { hostname } from "node:os";
import type { AlertConfig, AlertEvent } from "../config/schema.js";

export type Severity = "critical" | "warning" | "info";

/** What every channel sends: the same fields, as JSON (webhook, command) or as text (email). */
export interface AlertMessage {
  event: AlertEvent | "test";
  job: string | null;
  severity: Severity;
  message: string;
  details: Record<string, unknown>;
  timestamp: string;
  host: string;
}

const SEVERITY: Record<AlertMessage["event"], Severity> = {
  rpo_breach: "critical",
  rto_breach: "critical",
  backup_failed: "warning",
  copy_failed: "warning",
  policy_violation: "warning",
  verify_failed: "critical",
  drill_failed: "critical",
  clock_skew: "warning",
  wal_failed: "critical",
  wal_recovered: "info",
  wal_slot_lost: "critical",
  wal_cluster_changed: "critical",
  rpo_recovered: "info",
  rto_recovered: "info",
  backup_recovered: "info",
  test: "info",
};

export function alertMessage(event: AlertMessage["event"], job: string | null, message: string, details: Record<string, unknown>, at: number): AlertMessage {
  return { event, job, severity: SEVERITY[event], message, details, timestamp: new Date(at).toISOString(), host: hostname() };
}

/** Whether a channel wants this message (its event and job filters); a test goes everywhere. */
export function wants(alert: AlertConfig, m: AlertMessage): boolean {
  if (m.event === "test") return true;
  if (alert.events && !alert.events.includes(m.event)) return false;
  if (alert.jobs && (m.job === null || !alert.jobs.includes(m.job))) return false;
  return true;
}
