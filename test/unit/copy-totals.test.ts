import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog.js";
import { CATALOG_FILE, migrate } from "../../src/catalog/open.js";
import { MIGRATIONS } from "../../src/catalog/migrations.js";

/** The copies grouped the slow way: what copy_totals must always equal. */
function grouped(db: Database.Database) {
  return db
    .prepare(`SELECT b.job, c.target, c.state, count(*) AS count, sum(b.size) AS bytes FROM copies c JOIN backups b ON b.id = c.backup_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    .all();
}

const backup = (id: string, job: string, size: number) => ({
  id, job, kind: "files" as const, run_id: null, snapshot_at: 1, finished_at: 2, size, sha256: "x", encryption: null, manifest: '{"artifacts":[]}', signature: null,
});
const copy = (backup_id: string, target: string, state: string) => ({
  backup_id, target, location: "x", state, written_at: null, verified_at: null, error: null, attempts: 0, next_attempt_at: null,
});

describe("copy totals (what a metrics scrape reads) follow every change to the copies", () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "drd-totals-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("through backups recorded, copies added and changed, copies deleted, prune's deletions and backups removed", () => {
    const catalog = Catalog.open(stateDir());
    const steps: [string, () => void][] = [
      ["a backup with two copies", () => catalog.recordBackup(backup("b1", "db", 100) as never, [copy("b1", "local", "verified"), copy("b1", "offsite", "pending")] as never)],
      ["a second job", () => catalog.recordBackup(backup("b2", "files", 7) as never, [copy("b2", "local", "verified")] as never)],
      ["another backup of the first", () => catalog.recordBackup(backup("b3", "db", 50) as never, [copy("b3", "local", "written")] as never)],
      ["a copy added later", () => catalog.addCopy(copy("b3", "offsite", "pending") as never)],
      ["a pending copy written", () => catalog.updateCopy("b1", "offsite", { state: "verified" })],
      ["a change that leaves the state", () => catalog.updateCopy("b3", "offsite", { attempts: 2 })],
      ["a copy found corrupt", () => catalog.updateCopy("b3", "local", { state: "corrupt" })],
      ["prune deletes one copy of two", () => catalog.markCopiesDeleted("local", ["b1"])],
      ["prune deletes the last copy: the backup goes", () => catalog.markCopiesDeleted("offsite", ["b1"])],
      ["a copy row deleted on its own", () => catalog.db.prepare(`DELETE FROM copies WHERE backup_id = 'b3' AND target = 'offsite'`).run()],
      ["a backup deleted with its copies (cascade)", () => catalog.db.prepare(`DELETE FROM backups WHERE id = 'b3'`).run()],
      ["a backup's size corrected", () => catalog.db.prepare(`UPDATE backups SET size = 9 WHERE id = 'b2'`).run()],
    ];
    for (const [what, step] of steps) {
      step();
      expect(catalog.copyTotals(), what).toEqual(grouped(catalog.db));
    }
    expect(catalog.copyTotals()).toEqual([{ job: "files", target: "local", state: "verified", count: 1, bytes: 9 }]);
    catalog.close();
  });

  it("a catalog from before the totals gets them counted from its copies when it is opened", () => {
    const dir = stateDir();
    const db = new Database(join(dir, CATALOG_FILE));
    db.pragma("foreign_keys = ON");
    // Just before the totals came (the migration that creates copy_totals).
    migrate(db, MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE copy_totals")));
    const insertBackup = db.prepare(`INSERT INTO backups (id, job, kind, snapshot_at, finished_at, size, sha256, manifest) VALUES (?, ?, 'files', 1, 2, ?, 'x', '{}')`);
    const insertCopy = db.prepare(`INSERT INTO copies (backup_id, target, location, state) VALUES (?, ?, 'x', ?)`);
    for (let i = 0; i < 50; i++) {
      insertBackup.run(`b${i}`, i % 3 === 0 ? "db" : "files", i * 10);
      insertCopy.run(`b${i}`, "local", i % 4 === 0 ? "pending" : "verified");
      if (i % 2 === 0) insertCopy.run(`b${i}`, "offsite", "written");
    }
    const before = grouped(db);
    db.close();
    const catalog = Catalog.open(dir);
    expect(catalog.copyTotals()).toEqual(before);
    expect(catalog.copyTotals().length).toBeGreaterThan(4);
    catalog.close();
  });

  it("the catalog that learned cluster backups (a rebuilt backups table) keeps every backup and copy, its foreign keys and its totals", () => {
    const dir = stateDir();
    const db = new Database(join(dir, CATALOG_FILE));
    db.pragma("foreign_keys = ON");
    migrate(db, MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE backups_new")));
    db.prepare(`INSERT INTO runs (id, job, backup_id, trigger, pid, started_at, state) VALUES (1, 'db', 'b0', 'manual', 1, 1, 'succeeded')`).run();
    const insertBackup = db.prepare(`INSERT INTO backups (id, job, kind, run_id, snapshot_at, finished_at, size, sha256, manifest, signature, untrusted) VALUES (?, 'db', 'postgres', ?, 1, 2, ?, 'x', '{}', 'sig', ?)`);
    for (let i = 0; i < 20; i++) {
      insertBackup.run(`b${i}`, i === 0 ? 1 : null, i * 10, i === 3 ? "planted" : null);
      db.prepare(`INSERT INTO copies (backup_id, target, location, state) VALUES (?, 'local', 'x', 'verified')`).run(`b${i}`);
    }
    expect(() => db.prepare(`INSERT INTO backups (id, job, kind, snapshot_at, finished_at, size, sha256, manifest) VALUES ('c', 'cluster', 'postgres_cluster', 1, 2, 1, 'x', '{}')`).run()).toThrow(/CHECK/);
    const rows = db.prepare(`SELECT * FROM backups ORDER BY id`).all();
    const totals = grouped(db);
    db.close();

    const catalog = Catalog.open(dir);
    expect(catalog.db.prepare(`SELECT * FROM backups ORDER BY id`).all()).toEqual(rows);
    expect(catalog.copyTotals()).toEqual(totals);
    expect(catalog.db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(catalog.db.pragma("foreign_key_check")).toEqual([]);
    catalog.db.prepare(`INSERT INTO backups (id, job, kind, snapshot_at, finished_at, size, sha256, manifest) VALUES ('c', 'cluster', 'postgres_cluster', 1, 2, 1, 'x', '{}')`).run();
    // A backup removed still takes its copies with it, and the totals follow.
    catalog.db.prepare(`DELETE FROM backups WHERE id = 'b5'`).run();
    expect(catalog.db.prepare(`SELECT count(*) AS n FROM copies WHERE backup_id = 'b5'`).get()).toEqual({ n: 0 });
    expect(catalog.copyTotals()).toEqual(grouped(catalog.db));
    catalog.close();
  });
});
