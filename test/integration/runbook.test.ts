import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { serverBin, startCluster, type Cluster } from "../../src/demo/postgres.js";
import { parseSegmentName } from "../../src/policy/wal.js";
import { baseBackup, waitFor } from "../helpers/cluster-job.js";
import { flipByte } from "../helpers/files.js";
import { GpgHome } from "../helpers/gpg.js";
import { freePort, freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { signingKeyFiles } from "../helpers/signing.js";
import { BOTH_TARGETS, endpoint, testClient, writeLocalAndS3Config } from "../helpers/s3.js";
import { cluster, pgUrl, REPO, Workspace } from "../helpers/workspace.js";

/**
 * docs/disaster-recovery.md, part 2, run literally: the blocks marked
 * `<!-- runbook: stock-tools:NAME -->` are extracted and run with bash, only the
 * placeholders set, on a "machine" where drd's program and state are gone.
 */
const RUNBOOK = join(REPO, "docs", "disaster-recovery.md");

export function runbookBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const marked = /<!-- runbook: stock-tools:([a-z0-9-]+) -->\n```sh\n([\s\S]*?)\n```/g;
  for (const m of text.matchAll(marked)) {
    if (blocks.has(m[1]!)) throw new Error(`two runbook blocks named ${m[1]}`);
    blocks.set(m[1]!, m[2]!);
  }
  return blocks;
}

const SEGMENT = 16 << 20;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Every regular file below `dir`, relative path to sha256. */
function shas(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    out[full.slice(dir.length + 1)] = sha(readFileSync(full));
  }
  return out;
}

/** PATH without anything of drd's (node_modules/.bin, the checkout's bin): stock tools only. */
function stockPath(): string {
  return (process.env.PATH ?? "/usr/bin:/bin")
    .split(delimiter)
    .filter((d) => d && !d.includes("node_modules") && !d.startsWith(REPO))
    .join(delimiter);
}

describe("docs/disaster-recovery.md: the stock-tools recovery, run as written", () => {
  const ws = new Workspace();
  let gpg: GpgHome;
  let bucket = "";
  let machine = "";
  const timings: string[] = [];
  const src = { config: ws.path("etc", "app"), certificates: ws.path("etc", "ssl", "app") };
  const blocks = runbookBlocks(readFileSync(RUNBOOK, "utf8"));

  beforeAll(async () => {
    mkdirSync(join(src.config, "conf.d"), { recursive: true });
    writeFileSync(join(src.config, "app.conf"), "listen = 8443\n");
    writeFileSync(join(src.config, "conf.d", "big.bin"), Buffer.alloc(3_000_000, 7));
    mkdirSync(src.certificates, { recursive: true });
    writeFileSync(join(src.certificates, "server.pem"), "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n");
    writeFileSync(join(src.certificates, "server.key"), "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
    gpg = await GpgHome.create();
    await gpg.exportPublic(ws.path("backup-public.asc"));
    await freshDatabase(
      cluster,
      "rbsrc",
      "CREATE TABLE hosts AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 4000) g; CREATE INDEX hosts_name ON hosts (name); CREATE SCHEMA inv; CREATE TABLE inv.\"Items\" (n int); INSERT INTO inv.\"Items\" SELECT generate_series(1, 250)",
    );
    bucket = await writeLocalAndS3Config(ws, inject("s3Port"), "runbook", {
      database: { type: "postgres", connection: pgUrl("rbsrc"), globals: false, ...BOTH_TARGETS },
      config: { type: "files", paths: [src.config], ...BOTH_TARGETS },
      certificates: { type: "files", paths: [src.certificates], encrypt: { recipients: [ws.path("backup-public.asc")] }, ...BOTH_TARGETS },
    });
    for (const job of ["database", "config", "certificates"]) {
      const run = await ws.drctl(["backup", job, "--json"]);
      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
    }
    // A second, newer database backup with more rows: the runbook must find the newest.
    await psql(cluster, "rbsrc", "INSERT INTO hosts SELECT g, md5(g::text) FROM generate_series(4001, 4500) g");
    await new Promise((r) => setTimeout(r, 1100));
    expect((await ws.drctl(["backup", "database"])).exitCode).toBe(0);

    // The server is gone: drd's state (the catalog) with it, and drd's program is not on PATH.
    rmSync(ws.stateDir, { recursive: true, force: true });
    machine = mkdtempSync(join(tmpdir(), "drd-bare-"));
    // The recovery papers: the signing public key and the encryption key's private half.
    mkdirSync(join(machine, "keys"));
    copyFileSync(signingKeyFiles().public, join(machine, "keys", "signing-public.asc"));
    await gpg.exportSecret(join(machine, "keys", "backup-secret.asc"));
  });
  afterAll(async () => {
    await gpg?.remove();
    await execa("bash", ["-c", 'for h in "$1"/work-*/tmp.*; do [ -d "$h" ] && gpgconf --homedir "$h" --kill all; done; true', "_", machine ?? "/nonexistent"], { reject: false });
    if (machine) rmSync(machine, { recursive: true, force: true });
    ws.remove();
    if (timings.length) console.log(`stock-tools recoveries:\n  ${timings.join("\n  ")}`);
  });

  /** Runs the named blocks, in order, in one bash with only the placeholders (and PATH, HOME, libpq's and the aws CLI's variables) set. */
  async function runbook(label: string, names: string[], placeholders: Record<string, string>) {
    const missing = names.filter((n) => !blocks.has(n));
    expect(missing, "runbook blocks missing from docs/disaster-recovery.md").toEqual([]);
    const work = join(machine, `work-${label}`);
    mkdirSync(work);
    // What the runbook tells its reader to start the shell with.
    const script = ["set -euo pipefail", "umask 077", ...names.map((n) => `# --- ${n}\n${blocks.get(n)!}`)].join("\n");
    // The blocks make their own GnuPG homes with mktemp -d: keep them inside the machine.
    const env: Record<string, string> = {
      PATH: stockPath(),
      HOME: process.env.HOME ?? machine,
      TMPDIR: work,
      LANG: "C.UTF-8",
      PGHOST: "127.0.0.1",
      PGPORT: String(inject("pgPort")),
      PGUSER: "postgres",
      // The S3 credentials and region as the aws CLI reads them; no config file of this machine's.
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: join(machine, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(machine, "no-aws-credentials"),
      WORK: work,
      KEYS: join(machine, "keys"),
      ...placeholders,
    };
    if (process.env.PYENV_ROOT) env.PYENV_ROOT = process.env.PYENV_ROOT;
    const began = Date.now();
    const run = await execa("bash", ["-c", script], { env, extendEnv: false, reject: false, cwd: machine, timeout: 110_000 });
    const seconds = (Date.now() - began) / 1000;
    timings.push(`${label}: ${seconds.toFixed(1)} s (exit ${run.exitCode})`);
    return { ...run, seconds, work };
  }

  const s3 = () => ({ BUCKET: bucket, PREFIX: "drd/", S3_ENDPOINT: endpoint(inject("s3Port")) });
  const local = () => ({ TARGET_DIR: ws.backupDir });

  it("drctl is not on this machine's PATH", async () => {
    const run = await execa("bash", ["-c", "command -v drctl"], { env: { PATH: stockPath() }, extendEnv: false, reject: false });
    expect(run.exitCode).not.toBe(0);
    for (const tool of ["gpg", "jq", "sha256sum", "zstd", "tar", "pg_restore", "createdb", "psql", "aws"])
      expect((await execa("bash", ["-c", `command -v ${tool}`], { env: { PATH: stockPath(), HOME: process.env.HOME ?? "/" }, extendEnv: false, reject: false })).exitCode, tool).toBe(0);
  });

  it.each([
    ["s3", "fetch-s3"],
    ["local", "fetch-local"],
  ] as const)("a database job from %s: the newest backup, verified, loaded with pg_restore, every row there", async (from, fetch) => {
    const newDb = `rb_restored_${from}`;
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${newDb}`);
    const run = await runbook(`database-${from}`, [fetch, "verify", "decrypt", "load-postgres"], {
      JOB: "database",
      DATABASE: "rbsrc",
      NEW_DB: newDb,
      ...(from === "s3" ? s3() : local()),
    });
    expect(run.stderr).not.toMatch(/BAD signature|FAILED/);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^rbsrc\.dump\.zst: OK$/m);
    expect(run.stderr).toContain("Good signature");
    for (const table of ["hosts", 'inv."Items"'])
      expect(await psql(cluster, newDb, `SELECT count(*) FROM ${table}`)).toBe(await psql(cluster, "rbsrc", `SELECT count(*) FROM ${table}`));
    expect(await psql(cluster, newDb, "SELECT count(*) FROM hosts")).toBe("4500");
    expect(await psql(cluster, newDb, "SELECT count(*) FROM pg_indexes WHERE indexname = 'hosts_name'")).toBe("1");
  });

  it.each([
    ["s3", "config", "fetch-s3"],
    ["local", "config", "fetch-local"],
    ["s3", "certificates", "fetch-s3"],
    ["local", "certificates", "fetch-local"],
  ] as const)("a files job from %s (%s): verified, decrypted where encrypted, extracted with tar, every file's sha256 the original's", async (from, job, fetch) => {
    const toDir = join(machine, `restored-${job}-${from}`);
    const run = await runbook(`${job}-${from}`, [fetch, "verify", "decrypt", "load-files"], {
      JOB: job,
      TO_DIR: toDir,
      ...(from === "s3" ? s3() : local()),
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("Good signature");
    if (job === "certificates") expect(readdirSync(join(run.work, readdirSync(run.work).find((d) => d.startsWith(`${job}-`))!)).some((f) => f.endsWith(".gpg"))).toBe(true);
    // The archive stores paths relative to /: the job's path comes back below TO_DIR as it was.
    const original = shas(src[job]);
    expect(Object.keys(original).length).toBeGreaterThan(1);
    expect(shas(join(toDir, src[job].slice(1)))).toEqual(original);
  });

  it("an artifact changed on the target stops the recovery at the verify block, before anything is loaded", async () => {
    const newest = readdirSync(join(ws.backupDir, "config")).filter((d) => d.startsWith("config-")).sort().at(-1)!;
    const tar = join(ws.backupDir, "config", newest, "files.tar.zst");
    const toDir = join(machine, "restored-tampered");
    flipByte(tar, 100);
    try {
      const run = await runbook("config-local-tampered", ["fetch-local", "verify", "decrypt", "load-files"], { JOB: "config", TO_DIR: toDir, ...local() });
      expect(run.exitCode).not.toBe(0);
      expect(run.stdout).toContain("files.tar.zst: FAILED");
      expect(() => readdirSync(toDir)).toThrow();
    } finally {
      flipByte(tar, 100);
    }
  });

  it("a manifest changed on the target fails its signature check", async () => {
    const newest = readdirSync(join(ws.backupDir, "config")).filter((d) => d.startsWith("config-")).sort().at(-1)!;
    const path = join(ws.backupDir, "config", newest, "manifest.json");
    const genuine = readFileSync(path);
    writeFileSync(path, genuine.toString("utf8").replace('"host":', '"host": ').trimEnd() + " \n");
    try {
      const run = await runbook("config-local-manifest-changed", ["fetch-local", "verify"], { JOB: "config", ...local() });
      expect(run.exitCode).not.toBe(0);
      expect(run.stderr).toContain("BAD signature");
    } finally {
      writeFileSync(path, genuine);
    }
  });

  /**
   * A postgres_cluster job, encrypted, its WAL streamed by the daemon to both targets: a row
   * committed before the moment T and one after, then restored on this machine with the
   * cluster blocks to T and to the latest, and started with pg_ctl.
   */
  describe("a postgres_cluster job to a point in time", () => {
    const cws = new Workspace();
    let server: Cluster;
    let clusterBucket = "";
    let at = "";
    let last = "";
    let open = "";
    let newest = "";
    // Restored data directories: PostgreSQL's user must reach them, so not below the machine's 0700 directory.
    const restoredRoot = mkdtempSync(join(tmpdir(), "drd-rb-pgdata-"));
    const started: string[] = [];
    const asPostgres = (args: string[]) => (process.getuid?.() === 0 ? execa("runuser", ["-u", "postgres", "--", ...args], { reject: false }) : execa(args[0]!, args.slice(1), { reject: false }));
    const stop = (dir: string) => asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-m", "fast", "-w", "stop"]);
    const storedOnBoth = async (name: string) => {
      if (!existsSync(join(cws.backupDir, "cluster", "wal", `${name}.json`))) return false;
      const listed = await testClient(inject("s3Port")).send(new ListObjectsV2Command({ Bucket: clusterBucket, Prefix: `drd/cluster/wal/${name}.json` }));
      return (listed.Contents ?? []).length > 0;
    };
    const cs3 = () => ({ BUCKET: clusterBucket, PREFIX: "drd/", S3_ENDPOINT: endpoint(inject("s3Port")) });
    const clocal = () => ({ TARGET_DIR: cws.backupDir });

    beforeAll(async () => {
      chmodSync(restoredRoot, 0o755);
      server = await startCluster();
      clusterBucket = await writeLocalAndS3Config(cws, inject("s3Port"), "runbook-cluster", {
        cluster: { type: "postgres_cluster", connection: server.url("postgres"), schedule: "0 3 * * *", rpo: "1h", targets: ["local", "offsite"], encrypt: { recipients: [ws.path("backup-public.asc")] } },
      });
      const daemon = cws.daemon();
      try {
        await waitFor("the daemon receiving WAL", () => daemon.log().includes("receiving WAL"), 60_000, () => daemon.log().slice(-2000));
        // Two base backups, WAL between them: the fetch takes the newer and the WAL from its start on.
        await baseBackup(cws, "cluster");
        await psql(server, "postgres", "CREATE TABLE early AS SELECT generate_series(1, 1000) g");
        const early = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
        await waitFor(`WAL file ${early} on both targets`, () => storedOnBoth(early), 60_000, () => daemon.log().slice(-2000));
        newest = await baseBackup(cws, "cluster");
        await psql(server, "postgres", "CREATE TABLE markers (name text, at timestamptz DEFAULT clock_timestamp())");
        await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('before')");
        const before = await psql(server, "postgres", "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM markers WHERE name = 'before'");
        at = new Date(Date.parse(before) + 500).toISOString();
        await new Promise((r) => setTimeout(r, 1100));
        await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('after')");
        // The segment holding 'after' closed, and one more after it: the WAL past T is archived.
        await psql(server, "postgres", "SELECT pg_switch_wal()");
        await psql(server, "postgres", "CREATE TABLE filler AS SELECT generate_series(1, 1000) g");
        last = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")).trim();
        await waitFor(`WAL file ${last} on both targets`, () => storedOnBoth(last), 60_000, () => daemon.log().slice(-2000));
        // A row in the segment still open: only a partial copy of it holds the row, which the latest restore replays.
        await psql(server, "postgres", "INSERT INTO markers (name) VALUES ('open')");
        open = (await psql(server, "postgres", "SELECT pg_walfile_name(pg_current_wal_insert_lsn() - 1)")).trim();
        const needed = Number(await psql(server, "postgres", "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")) - Number(parseSegmentName(open, SEGMENT)!.number) * SEGMENT;
        const holdsRow = (name: string) => {
          const m = new RegExp(`^${open}\\.([0-9A-F]{8})\\.partial\\.json$`).exec(name);
          return m !== null && Number.parseInt(m[1]!, 16) >= needed;
        };
        await waitFor(`a partial copy of ${open} holding the row on both targets`, async () => {
          if (!readdirSync(join(cws.backupDir, "cluster", "wal")).some(holdsRow)) return false;
          const listed = await testClient(inject("s3Port")).send(new ListObjectsV2Command({ Bucket: clusterBucket, Prefix: `drd/cluster/wal/${open}.` }));
          return (listed.Contents ?? []).some((o) => holdsRow(o.Key!.slice("drd/cluster/wal/".length)));
        }, 60_000, () => daemon.log().slice(-2000));
      } finally {
        daemon.process.kill("SIGTERM");
        await daemon.process;
      }
      // The server and drd's state are gone; the targets hold the backup and the WAL.
      await server.stop();
      rmSync(cws.stateDir, { recursive: true, force: true });
    }, 180_000);
    afterAll(async () => {
      for (const dir of started) await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-m", "immediate", "-w", "stop"]);
      rmSync(restoredRoot, { recursive: true, force: true });
      cws.remove();
    });

    /** The marker rows of the restored server the load block left running, then stops it. */
    async function markers(dir: string, port: number): Promise<string> {
      try {
        const q = await asPostgres(["psql", "-XAtq", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", "SELECT string_agg(name, ',' ORDER BY at) FROM markers"]);
        expect(q.exitCode, `${q.stderr}`).toBe(0);
        return `${q.stdout}`.trim();
      } finally {
        await stop(dir);
      }
    }

    it.each([
      ["s3", "T", "fetch-s3", "fetch-wal-s3"],
      ["local", "T", "fetch-local", "fetch-wal-local"],
      ["s3", "latest", "fetch-s3", "fetch-wal-s3"],
      ["local", "latest", "fetch-local", "fetch-wal-local"],
    ] as const)("from %s to %s: base backup and WAL verified, decrypted, replayed by PostgreSQL, started with pg_ctl", async (from, to, fetch, fetchWal) => {
      const dir = join(restoredRoot, `cluster-${from}-${to}`);
      const port = await freePort();
      started.push(dir);
      const run = await runbook(`cluster-${from}-${to}`, [fetch, "verify", "decrypt", fetchWal, "verify-wal", "decrypt-wal", "load-cluster"], {
        JOB: "cluster",
        AT: to === "T" ? at : "",
        PGDATA_NEW: dir,
        PORT: String(port),
        PG_BIN: serverBin(),
        PG_OS_USER: "postgres",
        ...(from === "s3" ? cs3() : clocal()),
      });
      expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stderr).toContain("Good signature");
      expect(run.stdout).toMatch(/^base\.tar\.zst\.gpg: OK$/m);
      expect(run.stdout).toMatch(/WAL records signed, every object's sha256 as recorded; [0-9A-F]{24} to [0-9A-F]{24} without a gap$/m);
      expect(run.stdout).toMatch(/^ f +\| /m);
      expect(run.stdout).toContain(`backup: ${newest}\n`);
      // Only the WAL from the newest base backup's start on was fetched, though older WAL is on the target.
      const first = /^first WAL file: ([0-9A-F]{24})$/m.exec(run.stdout)![1]!;
      const stored = (target: string[]) => target.filter((n) => /^[0-9A-F]{24}\.json$/.test(n)).map((n) => n.slice(0, 24));
      expect(stored(readdirSync(join(cws.backupDir, "cluster", "wal"))).some((n) => n < first)).toBe(true);
      expect(stored(readdirSync(join(run.work, "wal-stored"))).every((n) => n >= first)).toBe(true);
      expect(stored(readdirSync(join(run.work, "wal-stored")))).toContain(first);
      const settings = readFileSync(join(dir, "postgresql.auto.conf"), "utf8");
      expect(settings).toMatch(/^archive_mode = 'off'$/m);
      expect(settings).toContain(`restore_command = 'cp "${dir}.wal/%f" "%p"'`);
      expect(existsSync(join(dir, "recovery.signal"))).toBe(false); // removed by PostgreSQL at the promotion
      if (to === "T") {
        expect(settings).toContain(`recovery_target_time = '${at.replace("T", " ").replace("Z", "000+00")}'`);
        expect(run.stdout).toMatch(/recovery stopping before commit of transaction \d+, time /);
        expect(await markers(dir, port)).toBe("before");
      } else {
        expect(settings).not.toContain("recovery_target_time");
        expect(readdirSync(`${dir}.wal`)).toEqual(expect.arrayContaining([last, open]));
        expect(existsSync(join(cws.backupDir, "cluster", "wal", `${open}.json`))).toBe(false);
        expect(await markers(dir, port)).toBe("before,after,open");
      }
    });

    it("a WAL file changed on the target, or its record, stops the recovery at the verify-wal block", async () => {
      const wal = join(cws.backupDir, "cluster", "wal");
      const object = join(wal, `${last}.zst.gpg`);
      flipByte(object, 100);
      try {
        const run = await runbook("cluster-local-wal-tampered", ["fetch-local", "verify", "fetch-wal-local", "verify-wal"], { JOB: "cluster", ...clocal() });
        expect(run.exitCode).not.toBe(0);
        expect(run.stdout).toContain(`${last}.zst.gpg: FAILED`);
        expect(run.stdout).not.toContain("without a gap");
      } finally {
        flipByte(object, 100);
      }
      const record = join(wal, `${last}.json`);
      const genuine = readFileSync(record);
      writeFileSync(record, genuine.toString("utf8").replace('"compression":', '"compression": '));
      try {
        const run = await runbook("cluster-local-record-changed", ["fetch-local", "verify", "fetch-wal-local", "verify-wal"], { JOB: "cluster", ...clocal() });
        expect(run.exitCode).not.toBe(0);
        expect(run.stderr).toContain("BAD signature");
        expect(run.stderr).toContain(`${last}: its record's signature is BAD or missing`);
      } finally {
        writeFileSync(record, genuine);
      }
    });

    it("a missing WAL file in the middle of the chain is named by the verify-wal block", async () => {
      const wal = join(cws.backupDir, "cluster", "wal");
      const segments = readdirSync(wal).filter((n) => /^[0-9A-F]{24}\.json$/.test(n)).sort();
      expect(segments.length).toBeGreaterThanOrEqual(3);
      const gone = segments.at(-2)!.slice(0, 24);
      const away = join(machine, "away");
      mkdirSync(away, { recursive: true });
      const names = readdirSync(wal).filter((n) => n.startsWith(`${gone}.`));
      for (const n of names) copyFileSync(join(wal, n), join(away, n));
      for (const n of names) rmSync(join(wal, n));
      try {
        const run = await runbook("cluster-local-gap", ["fetch-local", "verify", "fetch-wal-local", "verify-wal"], { JOB: "cluster", ...clocal() });
        expect(run.exitCode).not.toBe(0);
        expect(run.stderr).toMatch(new RegExp(`the archive has no WAL file between [0-9A-F]{24} and ${segments.at(-1)!.slice(0, 24)}`));
      } finally {
        for (const n of names) copyFileSync(join(away, n), join(wal, n));
      }
    });
  });
});
