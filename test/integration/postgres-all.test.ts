import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psql } from "../helpers/postgres-cluster.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

describe("a postgres job with databases: all", () => {
  const ws = new Workspace();
  beforeAll(async () => {
    for (const db of ["alpha_db", "beta db", "ops/2026:a@b?c#d%e"]) {
      await psql(cluster, "postgres", `DROP DATABASE IF EXISTS "${db}"`);
      await psql(cluster, "postgres", `CREATE DATABASE "${db}"`);
    }
    await psql(cluster, "alpha_db", "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 42)");
    await psql(cluster, "postgres", "DROP ROLE IF EXISTS app_reader; CREATE ROLE app_reader NOLOGIN");
    ws.withJobs({ everything: { type: "postgres", connection: pgUrl(), databases: "all", schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
  });
  afterAll(() => ws.remove());

  it("dumps every non-template database, with globals holding the roles", async () => {
    const run = await ws.drctl(["backup", "everything", "--json"]);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toHaveProperty("id");
    const id = JSON.parse(run.stdout).id;
    const dir = join(ws.backupDir, "everything", id);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const names = manifest.postgres.databases.map((d: { name: string }) => d.name);
    // A name with the characters a URL reserves is counted and dumped under its own name.
    expect(names).toEqual(expect.arrayContaining(["alpha_db", "beta db", "ops/2026:a@b?c#d%e", "postgres"]));
    expect(names).not.toContain("template1");
    expect(manifest.artifacts.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(["alpha_db.dump.zst", "beta%20db.dump.zst", "ops%2F2026%3Aa%40b%3Fc%23d%25e.dump.zst", "globals.sql.zst"]));
    expect(manifest.postgres.databases.find((d: { name: string }) => d.name === "alpha_db").tables).toEqual([{ schema: "public", table: "t", rows: 42 }]);
    expect(manifest.postgres.server_version).toMatch(/^\d+\.\d+/);
    const globals = await execa("zstd", ["-dc", join(dir, "globals.sql.zst")]);
    expect(globals.stdout).toContain("CREATE ROLE app_reader");
    const toc = await execa("bash", ["-c", `zstd -dc '${join(dir, "alpha_db.dump.zst")}' | pg_restore --list`]);
    expect(toc.stdout).toMatch(/TABLE DATA public t /);
  });
});
