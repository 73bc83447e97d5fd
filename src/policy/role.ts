/*
 * What a host does in each role, as one table: the scheduler, the daemon, the objectives
 * and the commands all ask here, so a drill host can never take a backup by one path
 * while another refuses it.
 */

export type Role = "server" | "drills";

export interface Duties {
  /** Scheduled and catch-up backups (and the base backup after a lost slot). */
  backups: boolean;
  /** Retention after each backup and `drctl prune`. */
  prune: boolean;
  /** Retrying pending copies and `drctl replicate`. */
  replicate: boolean;
  /** postgres_cluster WAL: pg_receivewal with its slot, or the archive socket. */
  wal: boolean;
  /** Each job's drill on its drill.schedule. */
  drills: boolean;
  /**
   * Before each drill, the backups on the drill's target are added to this host's catalog
   * (catalog rebuild): a drill host took none, so its catalog knows only what it read there.
   */
  learnBackupsFromTarget: boolean;
  /** RPO from this host's catalog: only meaningful where the backups are taken. */
  measureRpo: boolean;
}

const DUTIES: Record<Role, Duties> = {
  server: { backups: true, prune: true, replicate: true, wal: true, drills: true, learnBackupsFromTarget: false, measureRpo: true },
  drills: { backups: false, prune: false, replicate: false, wal: false, drills: true, learnBackupsFromTarget: true, measureRpo: false },
};

export function dutiesOf(role: Role): Duties {
  return DUTIES[role];
}

/** Why a command that writes backups or deletes them is refused in `role`; undefined when it may run. */
export function refusal(role: Role, command: "backup" | "prune" | "replicate"): string | undefined {
  const duty = command === "backup" ? "backups" : command;
  if (dutiesOf(role)[duty]) return undefined;
  return `this host is a drill host (role: drills): it never runs drctl ${command}; run it on the server that takes the backups`;
}
