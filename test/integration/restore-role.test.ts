import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psql } from "../helpers/postgres-cluster.js";
import { cluster, pgUrl, problems, Workspace } from "../helpers/workspace.js";

const DB = "role_shop";
const OWNER = "role_shopapp";
const RESTORER = "role_restorer";

/**
 * A restore by an ordinary role with CREATEDB, of a dump whose tables belong to another
 * role: pg_restore cannot fall back object by object, so drd decides before it runs.
 */
describe("a restore as a role that cannot set the backup's owners", () => {
  const ws = new Workspace();
  let asRestorer = "";

  beforeAll(async () => {
    await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${DB}`);
    for (const db of ["role_r1", "role_r2", "role_r3", "role_r4"]) await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${db}`);
    await psql(cluster, "postgres", `DROP ROLE IF EXISTS ${OWNER}; CREATE ROLE ${OWNER}; DROP ROLE IF EXISTS ${RESTORER}; CREATE ROLE ${RESTORER} LOGIN CREATEDB`);
    await psql(cluster, "postgres", `CREATE DATABASE ${DB}`);
    // The application's schema and table belong to its role, as they do in a real deployment.
    await psql(cluster, DB, `CREATE SCHEMA shop AUTHORIZATION ${OWNER}; CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric); INSERT INTO shop.orders SELECT g, g * 1.5 FROM generate_series(1, 100) g; ALTER TABLE shop.orders OWNER TO ${OWNER}`);
    ws.withJobs({ shop: { type: "postgres", connection: pgUrl(DB), globals: false, schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "shop"])).exitCode).toBe(0);
    asRestorer = ws.path("restorer.yaml");
    writeFileSync(asRestorer, readFileSync(ws.configPath, "utf8").replace(pgUrl(DB), pgUrl(DB, RESTORER)));
  });
  afterAll(async () => {
    for (const db of ["role_r1", "role_r2", "role_r3", "role_r4"]) await psql(cluster, "postgres", `DROP DATABASE IF EXISTS ${db}`);
    ws.remove();
  });

  const refusal = `drctl: restoring as ${RESTORER} cannot give objects to their owners ${OWNER} (${RESTORER} is not a member of that role, or they do not exist): give --no-owner (everything owned by ${RESTORER}), or GRANT ${OWNER} TO ${RESTORER}`;

  it("the dry run and the restore refuse with exit 2, naming the owners and both fixes; nothing is left", async () => {
    const dry = await ws.drctl(["restore", "shop", "--to-db", "role_r1", "--dry-run"], { config: asRestorer });
    expect(problems(dry.stderr)).toBe(refusal);
    expect(dry.exitCode).toBe(2);
    const run = await ws.drctl(["restore", "shop", "--to-db", "role_r1"], { config: asRestorer });
    expect(problems(run.stderr)).toBe(refusal);
    expect(run.exitCode).toBe(2);
    expect(await psql(cluster, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'role_r1'")).toBe("0");
  });

  it("config check --online says the same of the job's role, before any restore is needed", async () => {
    const check = await ws.drctl(["config", "check", "--online"], { config: asRestorer });
    expect(check.stdout + check.stderr).toContain(
      `jobs.shop.connection: restoring database ${DB} as ${RESTORER} could not give objects to their owners ${OWNER} (${RESTORER} is not a member): a restore needs --no-owner (everything owned by ${RESTORER}), or GRANT ${OWNER} TO ${RESTORER}`,
    );
    expect(check.exitCode).toBe(2);
    expect((await ws.drctl(["config", "check", "--online"])).stdout).not.toContain("could not give objects");
  });

  it("with --no-owner it restores, everything owned by the restoring role, and says whose objects it took", async () => {
    const run = await ws.drctl(["restore", "shop", "--to-db", "role_r2", "--no-owner", "--json"], { config: asRestorer });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).warnings).toEqual([`--no-owner: what the backup gives to ${OWNER} is owned by ${RESTORER}`]);
    expect(await psql(cluster, "role_r2", "SELECT tableowner || ' ' || (SELECT count(*) FROM shop.orders) FROM pg_tables WHERE tablename = 'orders'")).toBe(`${RESTORER} 100`);
  });

  it("once the role may set them (GRANT owner TO restorer), it restores with the owners", async () => {
    await psql(cluster, "postgres", `GRANT ${OWNER} TO ${RESTORER}`);
    try {
      const run = await ws.drctl(["restore", "shop", "--to-db", "role_r3"], { config: asRestorer });
      expect(problems(run.stderr)).toBe("");
      expect(run.exitCode).toBe(0);
      expect(await psql(cluster, "role_r3", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'")).toBe(OWNER);
    } finally {
      await psql(cluster, "postgres", `REVOKE ${OWNER} FROM ${RESTORER}`);
    }
  });

  it("--no-privileges leaves out the GRANTs and keeps the owners", async () => {
    await psql(cluster, DB, `GRANT SELECT ON shop.orders TO PUBLIC`);
    expect((await ws.drctl(["backup", "shop"])).exitCode).toBe(0);
    const run = await ws.drctl(["restore", "shop", "--to-db", "role_r4", "--no-privileges"]);
    expect(run.exitCode).toBe(0);
    expect(await psql(cluster, "role_r4", "SELECT tableowner || ' ' || coalesce(array_to_string(relacl, ','), 'none') FROM pg_tables JOIN pg_class ON relname = tablename WHERE tablename = 'orders'")).toBe(`${OWNER} none`);
  });
});
