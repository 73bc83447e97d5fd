/**
 * Catalog schema, one entry per version; `PRAGMA user_version` records how many ran.
 * Append only: a released migration is never edited.
 * Times are integer milliseconds since the epoch (UTC).
 */
export const MIGRATIONS: readonly string[] = [
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
  `,
  `
  -- An outbox row that will never be sent (its channel left the config, or it waited too
  -- long) is retired, not left pending: a channel delivers in order, and a row that stays
  -- pending for ever would hold back every row behind it.
  ALTER TABLE alert_outbox ADD COLUMN retired_at INTEGER;
  UPDATE alert_outbox SET retired_at = created_at WHERE delivered_at IS NULL AND next_attempt_at = 9007199254740991;
  DROP INDEX outbox_due;
  CREATE INDEX outbox_pending ON alert_outbox (channel, id) WHERE delivered_at IS NULL AND retired_at IS NULL;
  `,
  `
  -- A job whose runs keep failing: one open problem per job until a run succeeds.
  CREATE TABLE job_problems (
    job         TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('backup_failed')),
    since       INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    notified_at INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    PRIMARY KEY (job, kind)
  ) WITHOUT ROWID;
  `,
  `
  -- Where the audit trail stood after its last append (one row): a trail cut short, emptied
  -- or rewritten no longer reaches it.
  CREATE TABLE audit_anchor (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    lines INTEGER NOT NULL,
    head  TEXT    NOT NULL,
    at    INTEGER NOT NULL
  );
  `,
  `
  -- A backup a catalog rebuild admitted although no trusted key signed it (--allow-unsigned):
  -- why, kept for ever. It is listed and restorable by name, never "newest", never counted
  -- for the RPO, never weighed by retention.
  ALTER TABLE backups ADD COLUMN untrusted TEXT;
  `,
  `
  -- The sequence number of each job's newest signed head (what it last wrote to its targets):
  -- a head read back with a lower one is a replay, or a target that missed an update.
  CREATE TABLE job_heads (
    job      TEXT    PRIMARY KEY,
    sequence INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  -- Base backups of cluster jobs (kind postgres_cluster). SQLite changes a CHECK only by
  -- rebuilding the table: copied, dropped (foreign keys off, so copies stay), renamed (the
  -- legacy rename, so the copies' triggers keep naming backups), its index and triggers made again.
  CREATE TABLE backups_new (
    id          TEXT    PRIMARY KEY,
    job         TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('postgres', 'files', 'postgres_cluster')),
    run_id      INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    snapshot_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    encryption  TEXT,
    manifest    TEXT    NOT NULL,
    signature   TEXT,
    untrusted   TEXT
  );
  INSERT INTO backups_new (id, job, kind, run_id, snapshot_at, finished_at, size, sha256, encryption, manifest, signature, untrusted)
    SELECT id, job, kind, run_id, snapshot_at, finished_at, size, sha256, encryption, manifest, signature, untrusted FROM backups;
  DROP TABLE backups;
  ALTER TABLE backups_new RENAME TO backups;
  CREATE INDEX backups_by_job ON backups (job, snapshot_at);
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
  `,
  `
  -- Each WAL segment of a cluster job stored on a target: the stored object's size and
  -- sha256, under the signed record beside it.
  CREATE TABLE wal_segments (
    job       TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT    NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (job, name, target)
  ) WITHOUT ROWID;
  `,
  `
  -- Samples of each cluster's WAL position (the daemon's, every few seconds; the last day
  -- kept): the age of the oldest write not yet archived is read from them.
  CREATE TABLE wal_positions (
    job TEXT    NOT NULL,
    at  INTEGER NOT NULL,
    lsn TEXT    NOT NULL,
    PRIMARY KEY (job, at)
  ) WITHOUT ROWID;
  `,
  `
  -- The newest partial copy of a cluster's open segment on each target (shipped every few
  -- seconds while the server writes): how far the archive reaches past its last full segment.
  CREATE TABLE wal_partials (
    job       TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (job, target)
  ) WITHOUT ROWID;
  `,
  `
  -- Where each job's newest good backup (a cluster job's newest restorable moment) changed:
  -- the RPO age at any past moment, after the backups themselves were pruned (the report's chart).
  CREATE TABLE rpo_points (
    job         TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    snapshot_at INTEGER,
    PRIMARY KEY (job, at)
  ) WITHOUT ROWID;
  `,
];
