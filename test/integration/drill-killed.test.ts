import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { cluster, pgUrl, Workspace } from "../helpers/workspace.js";

describe("a drill killed with -9", () => {
  const ws = new Workspace();
  beforeAll(async () => {
    await freshDatabase(cluster, "killdrill", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1500000) g");
    ws.withJobs({ bigdrill: { type: "postgres", connection: pgUrl("killdrill"), globals: false, schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    expect((await ws.drctl(["backup", "bigdrill"])).exitCode).toBe(0);
  });
  afterAll(() => ws.remove());

  const scratch = () => psql(cluster, "postgres", "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'drd_drill_bigdrill_%'");

  it("leaves a scratch database that the next drill removes, recording the killed one as interrupted", async () => {
    const child = ws.drctl(["drill", "bigdrill"]);
    await waitFor(() => child.pid !== undefined, 5000, "the drill process");
    // Wait until the scratch database exists and pg_restore is loading it.
    const deadline = Date.now() + 30_000;
    while (!(await scratch()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await child;
    const left = await scratch();
    expect(left).toMatch(/^drd_drill_bigdrill_\d+$/);

    const next = await ws.drctl(["drill", "bigdrill", "--json"]);
    expect(next.exitCode).toBe(0);
    expect(JSON.parse(next.stdout).ok).toBe(true);
    expect(await scratch()).toBe("");
    const db = new Database(join(ws.stateDir, "catalog.sqlite"), { readonly: true });
    const first = db.prepare("SELECT ok, error FROM drills ORDER BY id LIMIT 1").get();
    db.close();
    expect(first).toEqual({ ok: 0, error: "the drill's process ended before it finished (killed or crashed); its scratch was removed by a later drill" });
  });
});
