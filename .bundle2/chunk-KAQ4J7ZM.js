import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  OperationError
} from "./chunk-RSPIC3EP.js";

// dist/catalog/open.js
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

// dist/catalog/migrations.js
var MIGRATIONS = [
  `
  CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT    NOT NULL,
    backup_id   TEXT    NOT NULL UNIQUE,
    trigger     TEXT    NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    pid         INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    error       TEXT
  );
  CREATE INDEX runs_by_job ON runs (job, started_at);
  CREATE INDEX runs_running ON runs (state) WHERE state = 'running';

  CREATE TABLE backups (
    id          TEXT    PRIMARY KEY,
    job         TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('postgres', 'files')),
    run_id      INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    snapshot_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    encryption  TEXT,
    manifest    TEXT    NOT NULL
  );
  CREATE INDEX backups_by_job ON backups (job, snapshot_at);

  CREATE TABLE copies (
    backup_id   TEXT    NOT NULL REFERENCES backups (id) ON DELETE CASCADE,
    target      TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'written', 'verified', 'corrupt', 'missing', 'deleted')),
    written_at  INTEGER,
    verified_at INTEGER,
    error       TEXT,
    PRIMARY KEY (backup_id, target)
  );

  CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    job       TEXT,
    backup_id TEXT,
    target    TEXT,
    detail    TEXT
  );
  `,
  `
  -- Retry state of copies that are not written yet (pending), with exponential backoff.
  ALTER TABLE copies ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE copies ADD COLUMN next_attempt_at INTEGER;
  CREATE INDEX copies_pending ON copies (next_attempt_at) WHERE state = 'pending';
  `,
  `
  -- Restore drills: what was restored from where, how long each phase took, the outcome.
  CREATE TABLE drills (
    id          INTEGER PRIMARY KEY,
    job         TEXT    NOT NULL,
    backup_id   TEXT,
    target      TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    ok          INTEGER,
    phases      TEXT,
    details     TEXT,
    error       TEXT
  );
  CREATE INDEX drills_by_job ON drills (job, started_at);
  `,
  `
  -- The process running a drill, so a later one can clean up after a drill whose process died.
  ALTER TABLE drills ADD COLUMN pid INTEGER;
  `,
  `
  -- The detached OpenPGP signature of the manifest (armored), written beside it on every target.
  ALTER TABLE backups ADD COLUMN signature TEXT;
  `,
  `
  -- Claims name the boot as well as the pid (pids are reused after a reboot), and a run
  -- whose leftovers could not be removed yet (a target unreachable) is cleaned up later.
  ALTER TABLE runs ADD COLUMN boot_id TEXT;
  ALTER TABLE runs ADD COLUMN cleanup_pending INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE drills ADD COLUMN boot_id TEXT;
  `,
  `
  -- The store's version of each object of a copy (JSON: name -> version id), where it gives one.
  ALTER TABLE copies ADD COLUMN versions TEXT;
  `,
  `
  -- Recovery objectives: each job's current RPO and RTO state, every change of it, and the
  -- alerts to deliver (an outbox: a restart neither re-sends what was delivered nor forgets
  -- what was not).
  CREATE TABLE objective_state (
    job         TEXT    NOT NULL,
    objective   TEXT    NOT NULL CHECK (objective IN ('rpo', 'rto')),
    state       TEXT    NOT NULL,
    since       INTEGER NOT NULL,
    value_ms    INTEGER,
    notified_at INTEGER,
    PRIMARY KEY (job, objective)
  );
  CREATE TABLE objective_transitions (
    id         INTEGER PRIMARY KEY,
    job        TEXT    NOT NULL,
    objective  TEXT    NOT NULL,
    from_state TEXT,
    to_state   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    value_ms   INTEGER,
    -- the worst age (or duration) the state being left reached
    prev_max_ms INTEGER,
    detail     TEXT
  );
  CREATE INDEX transitions_by_job ON objective_transitions (job, objective, at);
  CREATE TABLE alert_outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    error           TEXT
  );
  CREATE INDEX outbox_due ON alert_outbox (next_attempt_at) WHERE delivered_at IS NULL;
  CREATE INDEX events_by_time ON events (at);
  `,
  `
  -- Copies counted by job, target and state, with their bytes, kept by triggers so they
  -- cannot drift from the copies whatever writes them: a metrics scrape reads a few rows
  -- instead of grouping every copy (about 300 ms over 200,000 copies).
  CREATE TABLE copy_totals (
    job    TEXT    NOT NULL,
    target TEXT    NOT NULL,
    state  TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    bytes  INTEGER NOT NULL,
    PRIMARY KEY (job, target, state)
  ) WITHOUT ROWID;
  INSERT INTO copy_totals SELECT b.job, c.target, c.state, count(*), sum(b.size) FROM copies c JOIN backups b ON b.id = c.backup_id GROUP BY 1, 2, 3;
  CREATE TRIGGER copy_totals_insert AFTER INSERT ON copies BEGIN
    INSERT INTO copy_totals (job, target, state, count, bytes) SELECT job, NEW.target, NEW.state, 1, size FROM backups WHERE id = NEW.backup_id
      ON CONFLICT DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
  END;
  CREATE TRIGGER copy_totals_update AFTER UPDATE OF backup_id, target, state ON copies BEGIN
    UPDATE copy_totals SET count = count - 1, bytes = bytes - (SELECT size FROM backups WHERE id = OLD.backup_id)
      WHERE job = (SELECT job FROM backups WHERE id = OLD.backup_id) AND target = OLD.target AND state = OLD.state;
    INSERT INTO copy_totals (job, target, state, count, bytes) SELECT job, NEW.target, NEW.state, 1, size FROM backups WHERE id = NEW.backup_id
      ON CONFLICT DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
    DELETE FROM copy_totals WHERE count = 0;
  END;
  -- A copy deleted on its own. When a backup is deleted, its copies go by cascade with the
  -- backup's row already gone (nothing matches here): copy_totals_backup_delete counts them.
  CREATE TRIGGER copy_totals_delete AFTER DELETE ON copies BEGIN
    UPDATE copy_totals SET count = count - 1, bytes = bytes - (SELECT size FROM backups WHERE id = OLD.backup_id)
      WHERE job = (SELECT job FROM backups WHERE id = OLD.backup_id) AND target = OLD.target AND state = OLD.state;
    DELETE FROM copy_totals WHERE count = 0;
  END;
  CREATE TRIGGER copy_totals_backup_delete BEFORE DELETE ON backups BEGIN
    UPDATE copy_totals SET
      count = count - (SELECT count(*) FROM copies WHERE backup_id = OLD.id AND target = copy_totals.target AND state = copy_totals.state),
      bytes = bytes - OLD.size * (SELECT count(*) FROM copies WHERE backup_id = OLD.id AND target = copy_totals.target AND state = copy_totals.state)
      WHERE job = OLD.job;
    DELETE FROM copy_totals WHERE count = 0;
  END;
  CREATE TRIGGER copy_totals_backup_update AFTER UPDATE OF job, size ON backups BEGIN
    UPDATE copy_totals SET
      count = count - (SELECT count(*) FROM copies WHERE backup_id = OLD.id AND target = copy_totals.target AND state = copy_totals.state),
      bytes = bytes - OLD.size * (SELECT count(*) FROM copies WHERE backup_id = OLD.id AND target = copy_totals.target AND state = copy_totals.state)
      WHERE job = OLD.job;
    INSERT INTO copy_totals (job, target, state, count, bytes) SELECT NEW.job, target, state, count(*), NEW.size * count(*) FROM copies WHERE backup_id = NEW.id GROUP BY target, state
      ON CONFLICT DO UPDATE SET count = count + excluded.count, bytes = bytes + excluded.bytes;
    DELETE FROM copy_totals WHERE count = 0;
  END;
  `
];

// dist/catalog/open.js
var CATALOG_FILE = "catalog.sqlite";
function openDatabase(stateDir) {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 448 });
    chmodSync(stateDir, 448);
  } catch (err) {
    throw new OperationError(`cannot create state_dir ${stateDir}: ${err.code ?? err}`);
  }
  const path = join(stateDir, CATALOG_FILE);
  let db;
  try {
    db = new Database(path);
    chmodSync(path, 384);
    db.pragma("journal_mode = WAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 10000");
    db.pragma("synchronous = FULL");
  } catch (err) {
    throw new OperationError(`cannot open the catalog ${path}: ${err.message}`);
  }
  migrate(db);
  return db;
}
function migrate(db) {
  const current = db.pragma("user_version", { simple: true });
  if (current > MIGRATIONS.length)
    throw new OperationError(`the catalog is from a newer drd (schema ${current}, this drd knows ${MIGRATIONS.length})`);
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

// dist/catalog/catalog.js
var Catalog = class _Catalog {
  db;
  constructor(db) {
    this.db = db;
  }
  static open(stateDir) {
    return new _Catalog(openDatabase(stateDir));
  }
  close() {
    this.db.close();
  }
  /**
   * Records a new running run, unless the job already has one whose process is alive.
   * The check and the insert share one write transaction so two starts cannot both win.
   */
  startRun(run, isAlive) {
    return this.db.transaction(() => {
      const running = this.db.prepare(`SELECT * FROM runs WHERE state = 'running' AND job = ?`).all(run.job).find((r) => isAlive(r));
      if (running)
        return { busy: running };
      const info = this.db.prepare(`INSERT INTO runs (job, backup_id, trigger, pid, boot_id, started_at, state) VALUES (@job, @backup_id, @trigger, @pid, @boot_id, @started_at, 'running')`).run(run);
      return { started: this.getRun(Number(info.lastInsertRowid)) };
    }).immediate();
  }
  getRun(id) {
    return this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id);
  }
  runningRuns() {
    return this.db.prepare(`SELECT * FROM runs WHERE state = 'running' ORDER BY id`).all();
  }
  /** Interrupted runs whose objects could not all be removed yet. */
  runsAwaitingCleanup() {
    return this.db.prepare(`SELECT * FROM runs WHERE cleanup_pending = 1 ORDER BY id`).all();
  }
  setCleanupPending(id, pending) {
    this.db.prepare(`UPDATE runs SET cleanup_pending = ? WHERE id = ?`).run(pending ? 1 : 0, id);
  }
  lastRuns(job, limit = 10) {
    return this.db.prepare(`SELECT * FROM runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?`).all(job, limit);
  }
  finishRun(id, state, at, error) {
    this.db.prepare(`UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ?`).run(state, at, error ?? null, id);
  }
  /** Registers a complete backup and its copies in one transaction. */
  recordBackup(backup, copies) {
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO backups (id, job, kind, run_id, snapshot_at, finished_at, size, sha256, encryption, manifest, signature)
             VALUES (@id, @job, @kind, @run_id, @snapshot_at, @finished_at, @size, @sha256, @encryption, @manifest, @signature)`).run(backup);
      const insert = this.db.prepare(`INSERT INTO copies (backup_id, target, location, state, written_at, verified_at, error, attempts, next_attempt_at)
           VALUES (@backup_id, @target, @location, @state, @written_at, @verified_at, @error, @attempts, @next_attempt_at)`);
      for (const copy of copies)
        insert.run(copy);
    }).immediate();
  }
  startDrill(job, at, pid, bootId) {
    return Number(this.db.prepare(`INSERT INTO drills (job, started_at, pid, boot_id) VALUES (?, ?, ?, ?)`).run(job, at, pid, bootId).lastInsertRowid);
  }
  unfinishedDrills(job) {
    return this.db.prepare(`SELECT * FROM drills WHERE job = ? AND finished_at IS NULL ORDER BY id`).all(job);
  }
  finishDrill(id, result) {
    this.db.prepare(`UPDATE drills SET backup_id = @backup_id, target = @target, finished_at = @finished_at, ok = @ok, phases = @phases, details = @details, error = @error WHERE id = @id`).run({ ...result, id });
  }
  lastDrills(job, limit = 10) {
    return this.db.prepare(`SELECT * FROM drills WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?`).all(job, limit);
  }
  addCopy(copy) {
    this.db.prepare(`INSERT INTO copies (backup_id, target, location, state, written_at, verified_at, error, attempts, next_attempt_at)
         VALUES (@backup_id, @target, @location, @state, @written_at, @verified_at, @error, @attempts, @next_attempt_at)`).run(copy);
  }
  updateCopy(backupId, target, change) {
    const sets = Object.keys(change).map((k) => `${k} = @${k}`);
    if (sets.length === 0)
      return;
    this.db.prepare(`UPDATE copies SET ${sets.join(", ")} WHERE backup_id = @backup_id AND target = @target`).run({ ...change, backup_id: backupId, target });
  }
  /** Every pending copy on `target` becomes due now: the target answered again. Returns how many. */
  makePendingDue(target) {
    return this.db.prepare(`UPDATE copies SET next_attempt_at = NULL WHERE target = ? AND state = 'pending' AND next_attempt_at IS NOT NULL`).run(target).changes;
  }
  getBackup(id) {
    const row = this.db.prepare(`SELECT * FROM backups WHERE id = ?`).get(id);
    return row && { ...row, copies: this.copiesOf(row.id) };
  }
  /** Snapshot time of the job's newest backup, if any (one index lookup). */
  lastSnapshotAt(job) {
    return this.db.prepare(`SELECT max(snapshot_at) AS at FROM backups WHERE job = ?`).get(job)?.at ?? void 0;
  }
  /** The id and manifest of the job's newest backup, if any. */
  newestBackup(job) {
    return this.db.prepare(`SELECT id, manifest FROM backups WHERE job = ? ORDER BY snapshot_at DESC, id DESC LIMIT 1`).get(job);
  }
  /** Newest first. */
  listBackups(filter = {}) {
    const rows = filter.job ? this.db.prepare(`SELECT * FROM backups WHERE job = ? ORDER BY snapshot_at DESC, id DESC`).all(filter.job) : this.db.prepare(`SELECT * FROM backups ORDER BY snapshot_at DESC, id DESC`).all();
    const copies = /* @__PURE__ */ new Map();
    for (const c of this.db.prepare(`SELECT * FROM copies ORDER BY target`).all()) {
      const list = copies.get(c.backup_id) ?? [];
      list.push(c);
      copies.set(c.backup_id, list);
    }
    return rows.map((r) => ({ ...r, copies: copies.get(r.id) ?? [] }));
  }
  /** Pending copies due for an attempt at `now` (all pending ones when `now` is undefined). */
  pendingCopies(filter = {}) {
    return this.db.prepare(`SELECT c.*, b.job FROM copies c JOIN backups b ON b.id = c.backup_id
          WHERE c.state = 'pending'
            AND (@job IS NULL OR b.job = @job)
            AND (@backup_id IS NULL OR c.backup_id = @backup_id)
            AND (@now IS NULL OR c.next_attempt_at IS NULL OR c.next_attempt_at <= @now)
          ORDER BY b.snapshot_at DESC`).all({ job: filter.job ?? null, now: filter.now ?? null, backup_id: filter.backupId ?? null });
  }
  /** What retention needs, without manifests: every backup of a job with its copies' states. */
  retentionView(job) {
    const rows = this.db.prepare(`SELECT b.id, b.snapshot_at, c.target, c.state, c.written_at
           FROM backups b LEFT JOIN copies c ON c.backup_id = b.id
          WHERE b.job = ? ORDER BY b.snapshot_at DESC, b.id DESC`).raw(true).all(job);
    const out = [];
    for (const [id, snapshotAt, target, state, writtenAt] of rows) {
      let b = out[out.length - 1];
      if (!b || b.id !== id)
        out.push(b = { id, snapshot_at: snapshotAt, copies: [] });
      if (target && state)
        b.copies.push({ target, state, written_at: writtenAt });
    }
    return out;
  }
  /** Artifact names of some backups, for deleting their objects. */
  artifactNames(ids) {
    const out = /* @__PURE__ */ new Map();
    const stmt = this.db.prepare(`SELECT id, job, manifest FROM backups WHERE id = ?`);
    for (const id of ids) {
      const row = stmt.get(id);
      if (row)
        out.set(id, { job: row.job, names: JSON.parse(row.manifest).artifacts.map((a) => a.name) });
    }
    return out;
  }
  /**
   * Marks copies deleted and drops backups left with no copy, in one short transaction
   * per call: callers pass bounded chunks so pruning never holds the catalog for long.
   */
  markCopiesDeleted(target, ids) {
    return this.db.transaction(() => {
      const mark = this.db.prepare(`UPDATE copies SET state = 'deleted', error = NULL, next_attempt_at = NULL WHERE backup_id = ? AND target = ?`);
      const drop = this.db.prepare(`DELETE FROM backups WHERE id = ? AND NOT EXISTS (SELECT 1 FROM copies WHERE backup_id = ? AND state <> 'deleted')`);
      let dropped = 0;
      for (const id of ids) {
        mark.run(id, target);
        dropped += drop.run(id, id).changes;
      }
      return dropped;
    }).immediate();
  }
  /** Copies by job, target and state with their bytes (kept by triggers; see the migration). */
  copyTotals() {
    return this.db.prepare(`SELECT job, target, state, count, bytes FROM copy_totals ORDER BY 1, 2, 3`).all();
  }
  copiesOf(backupId) {
    return this.db.prepare(`SELECT * FROM copies WHERE backup_id = ? ORDER BY target`).all(backupId);
  }
  /** The newest `limit` events at or after `since` (of one job, if given), oldest first. */
  events(filter) {
    return this.db.prepare(`SELECT at, kind, job, backup_id, target, detail FROM (
           SELECT * FROM events WHERE at >= @since AND (@job IS NULL OR job = @job) ORDER BY at DESC, id DESC LIMIT @limit
         ) ORDER BY at, id`).all({ job: filter.job ?? null, since: filter.since, limit: filter.limit });
  }
  addEvent(event) {
    this.db.prepare(`INSERT INTO events (at, kind, job, backup_id, target, detail) VALUES (@at, @kind, @job, @backup_id, @target, @detail)`).run({ job: null, backup_id: null, target: null, detail: null, ...event });
  }
};
function copyVersions(copy) {
  return copy?.versions ? JSON.parse(copy.versions) : {};
}
function parseManifest(row) {
  return JSON.parse(row.manifest);
}

export {
  Catalog,
  copyVersions,
  parseManifest
};
