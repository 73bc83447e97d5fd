import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { BOTH_TARGETS, writeLocalAndS3Config } from "../helpers/s3.js";
import { cluster, pgUrl, Workspace, problems } from "../helpers/workspace.js";

describe("recovery on a bare machine: only the config and the storage survived", () => {
  const ws = new Workspace();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const port = inject("s3Port");
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "restored from s3\n");
    writeFileSync(ws.path("pass"), "bare machine passphrase\n");
    await freshDatabase(cluster, "baresrc", "CREATE TABLE t AS SELECT generate_series(1, 777) AS x");
    await writeLocalAndS3Config(ws, port, "bare", {
      database: { type: "postgres", connection: pgUrl("baresrc"), globals: false, ...BOTH_TARGETS },
      config: { type: "files", paths: [ws.path("src")], encrypt: { passphrase_file: ws.path("pass") }, ...BOTH_TARGETS },
    });
    for (const job of ["database", "config"]) ids[job] = JSON.parse((await ws.drctl(["backup", job, "--json"])).stdout).id;
    // The server is gone: its state dir and local backups with it.
    rmSync(ws.stateDir, { recursive: true, force: true });
    rmSync(ws.backupDir, { recursive: true, force: true });
  });
  afterAll(() => ws.remove());

  it("list --from reads the target's manifests", async () => {
    const run = await ws.drctl(["list", "--from", "offsite", "--json"]);
    expect(run.exitCode).toBe(0);
    const listed = JSON.parse(run.stdout);
    expect(listed.map((b: { id: string }) => b.id).sort()).toEqual([ids.config, ids.database].sort());
    expect(listed[0].copies).toEqual([expect.objectContaining({ target: "offsite", state: "written" })]);
  });

  it("restores a files backup from s3 without any catalog entry", async () => {
    const to = ws.path("restored");
    const run = await ws.drctl(["restore", "config", "--from", "offsite", "--to-dir", to, "--passphrase-file", ws.path("pass"), "--json"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).backup_id).toBe(ids.config);
    // The job's one path lands under its own name: the directory it lies in is stripped.
    expect(readFileSync(join(to, "src", "app.conf"), "utf8")).toBe("restored from s3\n");
  });

  it("restores a database from s3 without any catalog entry, row counts checked", async () => {
    await psql(cluster, "postgres", "DROP DATABASE IF EXISTS bare_restored");
    const run = await ws.drctl(["restore", "database", "--from", "offsite", "--to-db", "bare_restored"]);
    expect(problems(run.stderr)).toBe("");
    expect(run.exitCode).toBe(0);
    expect(await psql(cluster, "bare_restored", "SELECT count(*) FROM t")).toBe("777");
  });

  it("catalog rebuild --from brings the catalog back; verify then re-reads the copies", async () => {
    const rebuild = await ws.drctl(["catalog", "rebuild", "--from", "offsite", "--json"]);
    expect(rebuild.exitCode).toBe(0);
    expect(JSON.parse(rebuild.stdout)).toEqual({ added: 2, copies: 0, known: 0, untrusted: [], invalid: [] });
    const verify = await ws.drctl(["verify", "--target", "offsite", "--json"]);
    expect(verify.exitCode).toBe(0);
    expect(JSON.parse(verify.stdout).map((r: { state: string }) => r.state)).toEqual(["verified", "verified"]);
    const listed = JSON.parse((await ws.drctl(["list", "--json"])).stdout);
    expect(listed.map((b: { id: string }) => b.id).sort()).toEqual([ids.config, ids.database].sort());
    expect(listed.every((b: { copies: { state: string }[] }) => b.copies[0]!.state === "verified")).toBe(true);
    expect((await ws.drctl(["catalog", "rebuild", "--from", "offsite", "--json"])).stdout).toContain('"known": 2');
  });
});

describe("list --from judges the policy only where it can", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("a backup this catalog knows is judged on all its copies; one it does not know is marked unjudged, not short", async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x\n");
    await writeLocalAndS3Config(ws, inject("s3Port"), "judged", { config: { type: "files", paths: [ws.path("src")], ...BOTH_TARGETS } });
    const id = JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id as string;
    const known = await ws.drctl(["list", "--from", "offsite"]);
    expect(known.stdout.split("\n")[1]).toMatch(new RegExp(`^${id} .* signed +ok: local offsite$`));
    expect(known.stdout).not.toContain("SHORT");
    expect(JSON.parse((await ws.drctl(["list", "--from", "offsite", "--json"])).stdout)[0].policy_ok).toBe(true);

    rmSync(ws.stateDir, { recursive: true, force: true });
    const bare = await ws.drctl(["list", "--from", "offsite"]);
    expect(bare.stdout.split("\n")[1]).toMatch(new RegExp(`^${id} .* signed +\\?: offsite:written$`));
    expect(bare.stdout.split("\n").at(-1)).toBe("(?: not in this catalog, and one target shows one copy: the policy is not judged)");
  });
});
