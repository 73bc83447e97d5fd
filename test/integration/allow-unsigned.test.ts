import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psql } from "../helpers/postgres-cluster.js";
import { signManifestFile } from "../helpers/signing.js";
import { cluster, pgUrl, problems, Workspace } from "../helpers/workspace.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const DB = "unsigned_app";

/**
 * --allow-unsigned is a scalpel: a backup no trusted key signed is taken only when named
 * (or when the job has no signed backup), never wins "newest", stays marked in the catalog,
 * and its SQL never runs without a flag that names that risk.
 */
describe("backups no trusted key signed", () => {
  const ws = new Workspace();
  const pwned = ws.path("pwned");
  const genuine: Record<string, string[]> = { config: [], db: [] };
  const dirOf = (job: string, id: string) => join(ws.backupDir, job, id);
  const catalog = () => join(ws.stateDir, "catalog.sqlite");

  beforeAll(async () => {
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${DB}`);
    await psql(cluster, "postgres", `CREATE DATABASE ${DB}`);
    await psql(cluster, DB, "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)");
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "genuine\n");
    ws.withJobs({
      config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] },
      db: { type: "postgres", connection: pgUrl(DB), schedule: "0 * * * *", rpo: "1h", targets: ["local"] },
    });
    // Made three hours ago: the job's RPO (1h) is breached unless something newer counts.
    for (const job of ["config", "db"]) {
      for (let i = 0; i < 2; i++) genuine[job]!.push(JSON.parse((await ws.drctl(["backup", job, "--json"], { env: { DRD_TEST_CLOCK_OFFSET: `-${3 * 60 - i}m` } })).stdout).id);
    }
    rmSync(catalog());
  });
  afterAll(() => ws.remove());

  /** A copy of the job's newest genuine backup under a new id, dated a minute ago, unsigned. */
  let planted = 0;
  function plant(job: string, edit: (m: Record<string, any>, dir: string) => void = () => undefined): string {
    const at = new Date(Date.now() - 60_000);
    const id = `${job}-${at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-bee${planted++}`;
    cpSync(dirOf(job, genuine[job]![1]!), dirOf(job, id), { recursive: true });
    rmSync(join(dirOf(job, id), "manifest.json.sig"));
    const m = JSON.parse(readFileSync(join(dirOf(job, id), "manifest.json"), "utf8"));
    Object.assign(m, { id, snapshot_at: at.toISOString(), finished_at: at.toISOString() });
    edit(m, dirOf(job, id));
    writeFileSync(join(dirOf(job, id), "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
    return id;
  }

  /** The globals of `m` become `sql` (zstd, as drd stores them). */
  async function plantGlobals(m: Record<string, any>, dir: string, sql: string) {
    const g = m.artifacts.find((a: { role: string }) => a.role === "globals");
    const bytes = Buffer.from((await execa("zstd", ["-qc"], { input: sql, encoding: "buffer" })).stdout);
    writeFileSync(join(dir, g.name), bytes);
    Object.assign(g, { size: bytes.length, sha256: sha(bytes), content_size: Buffer.byteLength(sql), pieces: { size: 16 << 20, sha256: [sha(bytes)] } });
  }

  it("on a bare machine a planted backup never wins newest, and naming it is refused with the risk explained", async () => {
    const planted = plant("config");
    try {
      const newest = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-newest"), "--json"]);
      // The only word: the newest trusted backup is older than the RPO (made three hours ago).
      expect(problems(newest.stderr)).toMatch(/^drctl: warning: the newest trusted backup of config on local, \S+, is 3\.0 h old, older than the job's RPO \(60 min\)$/);
      expect(JSON.parse(newest.stdout).backup_id).toBe(genuine.config![1]);
      // Even with the flag, "newest" is the newest trusted backup.
      const flagged = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-flagged"), "--allow-unsigned", "--json"]);
      expect(JSON.parse(flagged.stdout).backup_id).toBe(genuine.config![1]);

      const named = await ws.drctl(["restore", "config", "--backup", planted, "--to-dir", ws.path("out-named")]);
      expect(problems(named.stderr)).toBe(
        `drctl: backup config/${planted} on local is untrusted: its manifest is not signed. Whoever can write to the storage could have put it there, and restoring it runs what it holds (a dump's SQL, files in place); restore refused; the newest trusted backup is ${genuine.config![1]} (--backup ${genuine.config![1]}). A backup made before signing can still be restored on purpose: see drctl restore --help`,
      );
      expect(named.exitCode).toBe(3);
      const allowed = await ws.drctl(["restore", "config", "--backup", planted, "--to-dir", ws.path("out-allowed"), "--allow-unsigned"]);
      expect(allowed.exitCode).toBe(0);
      expect(problems(allowed.stderr)).toContain(`warning: backup config/${planted} on local is untrusted (its manifest is not signed); restored because --allow-unsigned was given`);
    } finally {
      rmSync(dirOf("config", planted), { recursive: true, force: true });
    }
  });

  it("a database backup's SQL from an untrusted backup needs --allow-untrusted-sql; globals run restricted, so \\! is refused even then", async () => {
    const planted = plant("db");
    const signedPlant = plant("db");
    try {
      const evil = `CREATE ROLE planted_role;\n\\! id > ${pwned}\nSELECT 1;\n`;
      for (const id of [planted, signedPlant]) {
        const dir = dirOf("db", id);
        const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
        await plantGlobals(m, dir, evil);
        writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
      }
      // The other one signed with the trusted key (a stolen key): trusted, and still restricted.
      await signManifestFile(join(dirOf("db", signedPlant), "manifest.json"));

      const noSql = await ws.drctl(["restore", "db", "--backup", planted, "--to-db", "unsigned_r1", "--with-globals", "--allow-unsigned"]);
      expect(problems(noSql.stderr)).toMatch(/is untrusted, and restoring a database runs the SQL it holds: .*COPY \.\.\. TO PROGRAM.*restore refused \(--allow-untrusted-sql runs it/);
      expect(noSql.exitCode).toBe(3);

      for (const [id, flags] of [
        [planted, ["--allow-unsigned", "--allow-untrusted-sql"]],
        [signedPlant, []],
      ] as const) {
        const run = await ws.drctl(["restore", "db", "--backup", id, "--to-db", `unsigned_r_${id.slice(-4)}${flags.length}`, "--with-globals", ...flags]);
        expect(problems(run.stderr)).toMatch(/the globals hold a psql command at line 2 \(a backslash command can run anything on this host\); psql refused to run it; restore refused/);
        expect(run.exitCode).toBe(3);
        expect(existsSync(pwned)).toBe(false);
      }
    } finally {
      rmSync(dirOf("db", planted), { recursive: true, force: true });
      rmSync(dirOf("db", signedPlant), { recursive: true, force: true });
      await psql(cluster, "postgres", "DROP ROLE IF EXISTS planted_role");
    }
  });

  it("genuine globals (with pg_dumpall's own \\restrict lines) still restore", async () => {
    const run = await ws.drctl(["restore", "db", "--to-db", "unsigned_genuine", "--with-globals"]);
    expect(problems(run.stderr)).not.toMatch(/refused|error/);
    expect(run.exitCode).toBe(0);
    await psql(cluster, "postgres", "DROP DATABASE IF EXISTS unsigned_genuine");
  });

  it("admitted by catalog rebuild --allow-unsigned, it stays untrusted: list, status, prune, drill and restore say so and never count it", async () => {
    const planted = plant("config");
    try {
      const rebuild = await ws.drctl(["catalog", "rebuild", "--from", "local", "--allow-unsigned", "--json"]);
      expect(rebuild.exitCode).toBe(0);
      // Re-read, the copies count for the policy again (verify reports the planted one as untrusted: exit 3).
      expect((await ws.drctl(["verify", "--target", "local"])).exitCode).toBe(3);
      const listed = JSON.parse((await ws.drctl(["list", "config", "--json"])).stdout) as { id: string; state: string; untrusted_reason?: string }[];
      expect(listed.find((b) => b.id === planted)).toMatchObject({ state: "untrusted", untrusted_reason: "its manifest is not signed" });
      expect(listed.filter((b) => b.state === "complete").map((b) => b.id).sort()).toEqual([...genuine.config!].sort());

      // The genuine backups are three hours old: the RPO (1h) is breached, whatever the planted one's date.
      const status = await ws.drctl(["status", "config", "--check", "--json"]);
      const s = JSON.parse(status.stdout)[0];
      expect(s.rpo_state).toBe("breach");
      expect(s.last_backup_id).toBe(genuine.config![1]);
      expect(s.newest_backup_id).toBe(genuine.config![1]);
      expect(s.untrusted_backups).toEqual([planted]);
      expect(status.exitCode).not.toBe(0);
      expect((await ws.drctl(["status", "config"])).stdout).toContain("trust  1 backup no trusted key signed (--allow-unsigned):\n                  restorable by name; never counted for RPO or retention");

      // Retention keeps the newest trusted backup; the planted one is neither counted nor removed.
      const config = ws.path("keep-last.yaml");
      writeFileSync(config, readFileSync(ws.configPath, "utf8").replace(`path: ${ws.backupDir}`, `path: ${ws.backupDir}\n    retention:\n      keep_last: 1`));
      const prune = JSON.parse((await ws.drctl(["prune", "--dry-run", "--job", "config", "--json"], { config })).stdout) as { actions: { backup_id: string; action: string; reasons: string[] }[] };
      expect(prune.actions.find((a) => a.backup_id === genuine.config![1])!.action).toBe("keep");
      expect(prune.actions.find((a) => a.backup_id === genuine.config![0])!.action).toBe("remove");
      expect(prune.actions.find((a) => a.backup_id === planted)).toMatchObject({ action: "skip", reasons: [expect.stringMatching(/^untrusted \(its manifest is not signed\): admitted with --allow-unsigned/)] });

      const drill = await ws.drctl(["drill", "config", "--json"]);
      expect(JSON.parse(drill.stdout).backup_id).toBe(genuine.config![1]);
      const restore = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-catalog"), "--json"]);
      expect(JSON.parse(restore.stdout).backup_id).toBe(genuine.config![1]);
      const named = await ws.drctl(["restore", "config", "--backup", planted, "--to-dir", ws.path("out-catalog-named")]);
      expect(problems(named.stderr)).toMatch(new RegExp(`backup config/${planted} in the catalog is untrusted: its manifest is not signed\\. Whoever can write`));
      expect(named.exitCode).toBe(3);
    } finally {
      rmSync(dirOf("config", planted), { recursive: true, force: true });
      rmSync(catalog(), { force: true });
    }
  });
});

describe("an untrusted files backup restored as root", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("gives no owners and no setuid or setgid bits, and leaves the restore directory as it made it", async () => {
    const src = ws.path("src");
    mkdirSync(join(src, "bin"), { recursive: true });
    writeFileSync(join(src, "bin", "tool"), "#!/bin/sh\n", { mode: 0o755 });
    chmodSync(join(src, "bin", "tool"), 0o4755);
    chmodSync(join(src, "bin"), 0o2775);
    ws.withJobs({ files: { type: "files", paths: [src], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    const id = JSON.parse((await ws.drctl(["backup", "files", "--json"])).stdout).id;
    rmSync(join(ws.backupDir, "files", id, "manifest.json.sig"));
    rmSync(join(ws.stateDir, "catalog.sqlite"));
    const out = ws.path("out");
    const run = await ws.drctl(["restore", "files", "--backup", id, "--to-dir", out, "--allow-unsigned"]);
    expect(run.exitCode).toBe(0);
    expect(problems(run.stderr)).toContain("owners and setuid/setgid bits were not restored: the backup is untrusted");
    expect(statSync(join(out, "src", "bin", "tool")).mode & 0o7777).toBe(0o755);
    expect(statSync(join(out, "src", "bin")).mode & 0o7777).toBe(0o775);
    expect(statSync(out).mode & 0o777).toBe(0o700);
  });
});
