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
];
