import { join } from "node:path";
import Database from "better-sqlite3";
import { recordedPid, writeDaemonRecord } from "../app/daemon-record.js";
import { OperationError } from "../errors.js";

/**
 * One daemon per state dir. The lock is an exclusive SQLite transaction held open on
 * `daemon.lock` for the daemon's life: the OS releases it when the process ends, however
 * it ends (kill -9, a crash, a reboot), so a stale lock never blocks a start. The holder's
 * pid and build sit in `daemon.pid` (app/daemon-record.ts): for the message a second
 * daemon prints, and for `drctl status`, which says which build runs.
 */
export class DaemonLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(stateDir: string): DaemonLock {
    const db = new Database(join(stateDir, "daemon.lock"), { timeout: 0 });
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE");
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
      const pid = recordedPid(stateDir);
      throw new OperationError(`another drd daemon is running on ${stateDir}${pid ? ` (pid ${pid})` : ""}: stop it first (systemctl stop drd)`);
    }
    writeDaemonRecord(stateDir);
    return new DaemonLock(db);
  }

  release(): void {
    this.db.close();
  }
}
