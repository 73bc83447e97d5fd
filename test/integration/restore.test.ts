import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { flipByte } from "../helpers/files.js";
import { GpgHome } from "../helpers/gpg.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { BOTH_TARGETS, writeLocalAndS3Config } from "../helpers/s3.js";
import { cluster, pgUrl, Workspace, problems } from "../helpers/workspace.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");


describe("drctl restore", () => {
  const ws = new Workspace();
  let gpg: GpgHome;
  const src = ws.path("etc", "app");
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const port = inject("s3Port");
    mkdirSync(join(src, "conf.d"), { recursive: true });
    writeFileSync(join(src, "app.conf"), "listen = 8443\n");
    chmodSync(join(src, "app.conf"), 0o640);
    writeFileSync(join(src, "conf.d", "big.bin"), Buffer.alloc(2_000_000, 3));
    symlinkSync("/etc/ssl/certs/ca.pem", join(src, "ca-link"));
    gpg = await GpgHome.create();
    await gpg.exportPublic(ws.path("public.asc"));
    await gpg.exportSecret(ws.path("secret.asc"));
    const other = await GpgHome.create();
    await other.exportSecret(ws.path("wrong-secret.asc"));
    await other.remove();
    await freshDatabase(cluster, "rsrc", "CREATE TABLE hosts AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 3000) g; CREATE INDEX hosts_name ON hosts (name); CREATE TABLE empty_t (x int)");
    await writeLocalAndS3Config(ws, port, "restore", {
      database: { type: "postgres", connection: pgUrl("rsrc"), encrypt: { recipients: [ws.path("public.asc")] }, ...BOTH_TARGETS },
      config: { type: "files", paths: [src], ...BOTH_TARGETS },
    });
    for (const job of ["database", "config"]) {
      const run = await ws.drctl(["backup", job, "--json"]);
      expect(run.exitCode).toBe(0);
      ids[job] = JSON.parse(run.stdout).id;
    }
  });
  afterAll(async () => {
    await gpg?.remove();
    ws.remove();
  });

  it.each(["local", "offsite"])("restores a files backup from %s: same bytes, modes, symlinks", async (from) => {
    const dir = ws.path(`restored-files-${from}`);
    const run = await ws.drctl(["restore", "config", "--from", from, "--to-dir", dir, "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      backup_id: ids.config,
      from,
      checked: "2 file(s) match their sha256 in the manifest",
      destination: { directory: dir, strip_prefix: ws.path("etc"), paths: null },
    });
    // The job's one path, /.../etc/app, lands as DIR/app: the directory it lies in is stripped.
    const base = join(dir, "app");
    expect(readFileSync(join(base, "app.conf"), "utf8")).toBe("listen = 8443\n");
    expect(statSync(join(base, "app.conf")).mode & 0o777).toBe(0o640);
    expect(sha(readFileSync(join(base, "conf.d", "big.bin")))).toBe(sha(Buffer.alloc(2_000_000, 3)));
    expect(readlinkSync(join(base, "ca-link"))).toBe("/etc/ssl/certs/ca.pem");
  });

  it("--path restores only the paths given, checked against the manifest; --full-paths keeps the backed-up layout; --strip-prefix another", async () => {
    const one = ws.path("restored-one");
    const run = await ws.drctl(["restore", "config", "--to-dir", one, "--path", join(src, "app.conf"), join(src, "ca-link")]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe(`restored ${ids.config} (${run.stdout.split("(")[1]!.split(")")[0]}) from local into ${one} (${join(src, "app.conf")}, ${join(src, "ca-link")} only), without the leading ${ws.path("etc")}`);
    expect(run.stdout).toContain("1 file(s) match their sha256 in the manifest");
    expect(readdirSync(join(one, "app")).sort()).toEqual(["app.conf", "ca-link"]);
    expect(statSync(join(one, "app", "app.conf")).mode & 0o777).toBe(0o640);

    const full = ws.path("restored-full");
    expect((await ws.drctl(["restore", "config", "--to-dir", full, "--full-paths", "--path", join(src, "conf.d")])).exitCode).toBe(0);
    expect(readdirSync(join(full, src.slice(1)))).toEqual(["conf.d"]);
    expect(sha(readFileSync(join(full, src.slice(1), "conf.d", "big.bin")))).toBe(sha(Buffer.alloc(2_000_000, 3)));

    const deeper = ws.path("restored-deeper");
    expect((await ws.drctl(["restore", "config", "--to-dir", deeper, "--strip-prefix", src])).exitCode).toBe(0);
    expect(readdirSync(deeper).sort()).toEqual(["app.conf", "ca-link", "conf.d"]);
  });

  it("--path and --strip-prefix that do not fit the backup are exit 2 before any download", async () => {
    const to = ws.path("restored-never");
    const cases: [string[], string][] = [
      [["--path", "/nonexistent/x"], `drctl: --path /nonexistent/x matches nothing in this backup (it holds ${src})`],
      [["--path", "etc/app"], "drctl: --path takes an absolute path as it was backed up (e.g. /etc/sysmanage), not etc/app"],
      [["--strip-prefix", join(src, "conf.d")], `drctl: --strip-prefix ${join(src, "conf.d")} would leave out ${join(src, "app.conf")}: give a directory every restored path lies in, or --full-paths`],
      [["--strip-prefix", "/etc", "--full-paths"], "drctl: give --strip-prefix or --full-paths, not both"],
    ];
    for (const [flags, message] of cases) {
      const run = await ws.drctl(["restore", "config", "--to-dir", to, ...flags]);
      expect([flags.join(" "), run.exitCode, problems(run.stderr)]).toEqual([flags.join(" "), 2, message]);
    }
    expect(existsSync(to)).toBe(false);
    const db = await ws.drctl(["restore", "database", "--to-db", "never_made", "--path", "/x", "--key", ws.path("secret.asc")]);
    expect([db.exitCode, db.stderr]).toEqual([2, "drctl: --path, --strip-prefix and --full-paths are for files backups"]);
  });

  it.each(["local", "offsite"])("restores an encrypted database backup from %s into a new database, row counts checked", async (from) => {
    const db = `restored_${from}`;
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${db}`);
    const run = await ws.drctl(["restore", "database", "--from", from, "--to-db", db, "--key", ws.path("secret.asc"), "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).checked).toBe("2 table(s) have the row counts recorded at backup time");
    expect(await psql(cluster, db, "SELECT count(*) FROM hosts")).toBe("3000");
  });

  it("restores with --jobs 2 from s3: rows, then the index, and nothing left in state_dir", async () => {
    const db = "restored_jobs";
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${db}`);
    const run = await ws.drctl(["restore", "database", "--from", "offsite", "--to-db", db, "--jobs", "2", "--key", ws.path("secret.asc"), "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ destination: { database: db, jobs: 2 }, checked: "2 table(s) have the row counts recorded at backup time" });
    expect(await psql(cluster, db, "SELECT count(*) FROM hosts")).toBe("3000");
    expect(await psql(cluster, db, "SELECT indexname FROM pg_indexes WHERE tablename = 'hosts'")).toBe("hosts_name");
    expect(readdirSync(ws.stateDir).filter((e) => e.startsWith("restore-"))).toEqual([]);
  });

  it.each([
    ["0 sessions", ["database", "--to-db", "restored_never", "--jobs", "0"], /--jobs must be a whole number from 1 to 64/],
    ["not a number", ["database", "--to-db", "restored_never", "--jobs", "two"], /--jobs must be a whole number from 1 to 64/],
    ["a files job", ["config", "--to-dir", "/nonexistent/never", "--jobs", "2"], /--jobs is for database restores/],
  ])("refuses --jobs with %s: exit 2, nothing created", async (_name, args, message) => {
    const run = await ws.drctl(["restore", ...args, "--key", ws.path("secret.asc")]);
    expect(problems(run.stderr)).toMatch(message);
    expect(run.exitCode).toBe(2);
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'restored_never'")).toBe("0");
  });

  it("refuses an existing non-empty database without --clean, and replaces it with --clean", async () => {
    const refused = await ws.drctl(["restore", "database", "--to-db", "rsrc", "--key", ws.path("secret.asc")]);
    expect(refused.exitCode).toBe(2);
    expect(problems(refused.stderr)).toMatch(/database "rsrc" exists and has 2 table\(s\)/);
    const dry = await ws.drctl(["restore", "database", "--to-db", "rsrc", "--key", ws.path("secret.asc"), "--dry-run"]);
    expect(problems(dry.stderr)).toMatch(/database "rsrc" exists and has 2 table\(s\)/);
    expect(dry.exitCode).toBe(2);
    expect((await ws.drctl(["restore", "database", "--to-db", "rsrc", "--clean", "--key", ws.path("secret.asc"), "--dry-run"])).exitCode).toBe(0);
    await freshDatabase(cluster, "restored_clean", "CREATE TABLE hosts (id int, name text); INSERT INTO hosts VALUES (1, 'stale')");
    const clean = await ws.drctl(["restore", "database", "--to-db", "restored_clean", "--clean", "--key", ws.path("secret.asc")]);
    expect(problems(clean.stderr)).toBe("");
    expect(await psql(cluster, "restored_clean", "SELECT count(*) FROM hosts")).toBe("3000");
  });

  it("--clean never leaves a database half-replaced: a restore whose check fails leaves the old one as it was", async () => {
    await freshDatabase(cluster, "restored_keep", "CREATE TABLE hosts (id int, name text); INSERT INTO hosts VALUES (1, 'old but good')");
    const db = new Database(join(ws.stateDir, "catalog.sqlite"));
    const row = db.prepare("SELECT manifest FROM backups WHERE id = ?").get(ids.database) as { manifest: string };
    const wrong = JSON.parse(row.manifest);
    wrong.postgres.databases[0].tables.find((t: { table: string }) => t.table === "hosts").rows = 2999;
    db.prepare("UPDATE backups SET manifest = ? WHERE id = ?").run(JSON.stringify(wrong), ids.database);
    try {
      const run = await ws.drctl(["restore", "database", "--to-db", "restored_keep", "--clean", "--key", ws.path("secret.asc")]);
      expect(problems(run.stderr)).toMatch(/restored row counts differ from the backup's: public\.hosts: 3000 rows, expected 2999/);
      expect(run.exitCode).toBe(3);
    } finally {
      db.prepare("UPDATE backups SET manifest = ? WHERE id = ?").run(row.manifest, ids.database);
      db.close();
    }
    expect(await psql(cluster, "restored_keep", "SELECT name FROM hosts")).toBe("old but good");
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'drd_new_%' OR datname LIKE 'drd_old_%'")).toBe("0");
  });

  it("a wrong key: exit 3 naming the recipients, and no database left behind", async () => {
    await psql(cluster, "postgres", "DROP DATABASE IF EXISTS restored_wrongkey");
    const run = await ws.drctl(["restore", "database", "--to-db", "restored_wrongkey", "--key", ws.path("wrong-secret.asc")]);
    expect(run.exitCode).toBe(3);
    // Checked against the recipients before anything is downloaded: which key was given, which would do.
    expect(problems(run.stderr)).toMatch(/^drctl: the key in \S+wrong-secret\.asc \([0-9A-F]{40}\) cannot decrypt this backup: it is encrypted to [0-9A-F]{40}; give the private key of one of those$/);
    const dry = await ws.drctl(["restore", "database", "--to-db", "restored_wrongkey", "--key", ws.path("wrong-secret.asc"), "--dry-run"]);
    expect(dry.exitCode).toBe(3);
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'restored_wrongkey'")).toBe("0");
  });

  it("a flipped byte: the restore refuses with exit 3 before using the data, and leaves nothing", async () => {
    const artifact = join(ws.backupDir, "config", ids.config!, "files.tar.zst");
    flipByte(artifact, 100);
    const dir = ws.path("restored-corrupt");
    const run = await ws.drctl(["restore", "config", "--from", "local", "--to-dir", dir]);
    flipByte(artifact, 100);
    expect(run.exitCode).toBe(3);
    expect(problems(run.stderr)).toMatch(/^drctl: files\.tar\.zst from local does not match its record: sha256 of piece 1 of 1 is [0-9a-f]{64}, expected [0-9a-f]{64}; restore refused$/);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it("refuses a non-empty target directory and requires a destination", async () => {
    const dir = ws.path("not-empty");
    mkdirSync(dir);
    writeFileSync(join(dir, "x"), "x");
    expect((await ws.drctl(["restore", "config", "--to-dir", dir])).exitCode).toBe(2);
    const noDest = await ws.drctl(["restore", "database"]);
    expect(noDest.exitCode).toBe(2);
    expect(problems(noDest.stderr)).toMatch(/--to-db NAME/);
  });
});

describe("restore progress", () => {
  it("prints one plain line per phase when stderr is not a terminal", async () => {
    const { restoreProgress } = await import("../../src/cli/progress.js");
    const lines: string[] = [];
    const p = restoreProgress({ out: () => undefined, err: (t) => lines.push(t) }, false);
    p.onProgress({ phase: "download", artifact: "app.dump.zst", bytes: 10, total: 100 });
    p.onProgress({ phase: "download", artifact: "app.dump.zst", bytes: 100, total: 100 });
    p.onProgress({ phase: "restore", artifact: "app.dump.zst", decrypting: false });
    p.onProgress({ phase: "check", artifact: "app.dump.zst" });
    p.onProgress({ phase: "restore", artifact: "app.dump.zst.gpg", decrypting: true });
    p.stop();
    // "decrypting" only for an encrypted backup.
    expect(lines.map((l) => l.replace(/ \(\d+s so far\)$/, ""))).toEqual([
      "drctl: downloading app.dump.zst (100 B), checking each piece against its sha256",
      "drctl: restoring app.dump.zst",
      "drctl: checking against the manifest app.dump.zst",
      "drctl: decrypting and restoring app.dump.zst.gpg",
    ]);
  });
});
