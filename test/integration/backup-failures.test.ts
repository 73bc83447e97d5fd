import { execSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, PASSWORD_ROLE, psql } from "../helpers/postgres-cluster.js";
import { filesBelow, waitFor } from "../helpers/files.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

const BIG = "bigdb";

/** A failed run prints one line, leaves no backup listed and no file on the target. */
async function expectCleanFailure(ws: Workspace, job: string, code: number, cause: RegExp) {
  const run = await ws.drctl(["backup", job]);
  expect(run.exitCode).toBe(code);
  expect(run.stderr.trim().split("\n")).toHaveLength(1);
  expect(run.stderr).toMatch(cause);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(JSON.parse((await ws.drctl(["list", job, "--json"])).stdout)).toEqual([]);
  expect(filesBelow(join(ws.backupDir, job))).toEqual([]);
  return run;
}

describe("failed backups record the cause and leave nothing that looks complete", () => {
  const ws = new Workspace();
  const common = { schedule: "*/15 * * * *", rpo: "15m", targets: ["local"] };

  beforeAll(async () => {
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${BIG}`);
    await psql(cluster, "postgres", `CREATE DATABASE ${BIG}`);
    await psql(cluster, BIG, `CREATE TABLE t AS SELECT g AS id, md5(g::text) || md5((g*7)::text) AS a FROM generate_series(1, 1500000) g`);
    await psql(cluster, "postgres", `DROP ROLE IF EXISTS ${PASSWORD_ROLE}; CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD 's3cret:pw\\x'`);
    await psql(cluster, BIG, `GRANT SELECT ON t TO ${PASSWORD_ROLE}`);
    await psql(cluster, "postgres", `DROP ROLE IF EXISTS limited; CREATE ROLE limited LOGIN`);
    await psql(cluster, BIG, `CREATE TABLE secret (x int); REVOKE ALL ON secret FROM PUBLIC`);
    writeFileSync(ws.path("pw"), "s3cret:pw\\x\n", { mode: 0o600 });
    writeFileSync(ws.path("wrong-pw"), "not-the-password\n", { mode: 0o600 });
    const port = await freePort();
    mkdirSync(ws.path("small"), { recursive: true });
    ws.withJobs({
      unreachable: { type: "postgres", connection: `postgresql://postgres@127.0.0.1:${port}/postgres`, ...common },
      nodb: { type: "postgres", connection: pgUrl(), databases: ["does_not_exist"], ...common },
      denied: { type: "postgres", connection: pgUrl(BIG, "limited"), globals: false, ...common },
      password: { type: "postgres", connection: pgUrl(BIG, PASSWORD_ROLE), password_file: ws.path("pw"), globals: false, ...common },
      wrongpw: { type: "postgres", connection: pgUrl(BIG, PASSWORD_ROLE), password_file: ws.path("wrong-pw"), globals: false, ...common },
      big: { type: "postgres", connection: pgUrl(BIG), globals: false, ...common },
      full: { type: "postgres", connection: pgUrl(BIG), globals: false, ...common, targets: ["tiny"] },
    }, {
      targets: { local: { type: "local", path: ws.backupDir }, tiny: { type: "local", path: ws.path("tiny") } },
    });
  });
  afterAll(() => {
    execSync(`umount ${ws.path("tiny")} 2>/dev/null || true`);
    ws.remove();
  });

  it("an unreachable server: exit 1 naming the connection", async () => {
    await expectCleanFailure(ws, "unreachable", 1, /^drctl: cannot connect to postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres: .*ECONNREFUSED/);
  });

  it("a database that does not exist: exit 1 naming it", async () => {
    await expectCleanFailure(ws, "nodb", 1, /database "does_not_exist" does not exist/);
  });

  it("a table the role may not read: exit 1 with the server's reason", async () => {
    await expectCleanFailure(ws, "denied", 1, /permission denied for table secret/);
  });

  it("a wrong password: exit 1, and the password appears nowhere", async () => {
    const run = await expectCleanFailure(ws, "wrongpw", 1, /password authentication failed/);
    expect(run.stderr).not.toContain("not-the-password");
  });

  it("password_file: authenticates pg_dump without the password on a command line, in the catalog or the output", async () => {
    await psql(cluster, BIG, `GRANT SELECT ON secret TO ${PASSWORD_ROLE}`);
    const run = await ws.drctl(["backup", "password", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const catalog = readFileSync(join(ws.stateDir, "catalog.sqlite"));
    expect(catalog.includes(Buffer.from("s3cret"))).toBe(false);
    expect(run.stdout).not.toContain("s3cret");
  });

  it("a full disk: exit 1 'no space left on device', no temporary file left", async () => {
    mkdirSync(ws.path("tiny"), { recursive: true });
    execSync(`mount -t tmpfs -o size=2m tmpfs ${ws.path("tiny")}`);
    await expectCleanFailure(ws, "full", 1, /no space left on device/);
    expect(filesBelow(ws.path("tiny"))).toEqual([]);
  });

  it("kill -9 while the dump streams: nothing listed, and the next run cleans up and records the run interrupted", async () => {
    for (const when of ["while writing", "at start"]) {
      const child = ws.drctl(["backup", "big"]);
      if (when === "while writing") await waitFor(() => filesBelow(join(ws.backupDir, "big")).find((f) => f.includes(".drd-tmp-")), 30_000, "a temp file");
      else await new Promise((r) => setTimeout(r, 150));
      child.kill("SIGKILL");
      await child;
      expect(JSON.parse((await ws.drctl(["list", "big", "--json"])).stdout)).toEqual([]);
      expect(filesBelow(join(ws.backupDir, "big")).filter((f) => f.endsWith("manifest.json"))).toEqual([]);
    }
    const next = await ws.drctl(["backup", "big", "--json"]);
    expect(next.exitCode).toBe(0);
    const id = JSON.parse(next.stdout).id;
    expect(filesBelow(join(ws.backupDir, "big"))).toEqual([`${id}/${BIG}.dump.zst`, `${id}/manifest.json`, `${id}/manifest.json.sig`, "head.json"]);
    const listed = JSON.parse((await ws.drctl(["list", "big", "--json"])).stdout);
    expect(listed.map((b: { id: string }) => b.id)).toEqual([id]);
  });

  it("SIGINT while a restore loads: exit 130 'interrupted' (not pg_restore's own words), and the new database gone", async () => {
    const child = ws.drctl(["restore", "big", "--to-db", "big_interrupted"], { ownGroup: true });
    for (let i = 0; i < 300; i++) {
      if ((await psql(cluster, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'big_interrupted' AND query LIKE 'COPY%'")) === "1") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Ctrl-C: the whole process group, drctl, zstd and pg_restore at once.
    process.kill(-child.pid!, "SIGINT");
    const run = await child;
    expect(run.exitCode).toBe(130);
    expect(run.stderr).toMatch(/^drctl: .*interrupted: received SIGINT$/m);
    expect(run.stderr).not.toMatch(/pg_restore exited/);
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'big_interrupted'")).toBe("0");
    expect(readdirSync(ws.stateDir).filter((e) => e.startsWith("restore-"))).toEqual([]);
  });

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)("%s while the dump streams: exit %i 'interrupted', no partial file or directory, nothing listed, the run recorded interrupted", async (signal, code) => {
    const before = JSON.parse((await ws.drctl(["list", "big", "--json"])).stdout).length;
    const dirsBefore = readdirSync(join(ws.backupDir, "big")).sort();
    const child = ws.drctl(["backup", "big"], { ownGroup: true });
    await waitFor(() => filesBelow(join(ws.backupDir, "big")).find((f) => f.includes(".drd-tmp-")), 30_000, "a temp file");
    // To the process group, as Ctrl-C or a service manager's stop does: pg_dump and zstd get it too.
    process.kill(-child.pid!, signal);
    const run = await child;
    expect(run.exitCode).toBe(code);
    expect(run.stderr).toMatch(new RegExp(`^drctl: backup of big failed: interrupted: received ${signal}$`, "m"));
    expect(filesBelow(join(ws.backupDir, "big")).filter((f) => f.includes(".drd-tmp-"))).toEqual([]);
    // Not even the new backup's directory: nothing that looks like the start of a backup.
    expect(readdirSync(join(ws.backupDir, "big")).sort()).toEqual(dirsBefore);
    expect(JSON.parse((await ws.drctl(["list", "big", "--json"])).stdout)).toHaveLength(before);
    const catalog = new Database(join(ws.stateDir, "catalog.sqlite"), { readonly: true });
    expect(catalog.prepare("SELECT state FROM runs WHERE job = 'big' ORDER BY id DESC LIMIT 1").get()).toEqual({ state: "interrupted" });
    catalog.close();
  });
});
