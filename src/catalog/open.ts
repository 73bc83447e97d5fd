import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { OperationError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";

export const CATALOG_FILE = "catalog.sqlite";

/** Opens (creating if needed) the catalog in `stateDir`: dir 0700, file 0600, WAL, foreign keys. */
export function openDatabase(stateDir: string): Database.Database {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    chmodSync(stateDir, 0o700);
  } catch (err) {
    throw new OperationError(`cannot create state_dir ${stateDir}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const path = join(stateDir, CATALOG_FILE);
  let db: Database.Database;
  try {
    db = new Database(path);
    chmodSync(path, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 10000");
    db.pragma("synchronous = FULL");
  } catch (err) {
    throw new OperationError(`cannot open the catalog ${path}: ${(err as Error).message}`);
  }
  migrate(db);
  return db;
}

/** Brings the catalog's schema up to `upTo` migrations (all of them, unless a test asks for an older catalog). */
export function migrate(db: Database.Database, upTo = MIGRATIONS.length): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length)
    throw new OperationError(`the catalog is from a newer drd (schema ${current}, this drd knows ${MIGRATIONS.length})`);
  if (current >= upTo) return;
  // A migration that rebuilds a table drops it with its rows' references in place: foreign
  // keys are off meanwhile (and checked before each commits), renames leave triggers alone.
  db.pragma("foreign_keys = OFF");
  db.pragma("legacy_alter_table = ON");
  try {
    for (let version = current; version < upTo; version++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[version]!);
        const broken = db.pragma("foreign_key_check") as unknown[];
        if (broken.length > 0) throw new OperationError(`catalog migration ${version + 1} would leave ${broken.length} row(s) referring to nothing`);
        db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma("legacy_alter_table = OFF");
    db.pragma("foreign_keys = ON");
  }
}
