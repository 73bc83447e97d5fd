import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { ScriptPart } from "../../src/app/restore/restore-script.js";
import { loadInSessions } from "../../src/app/restore/session-load.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { cluster, pgUrl } from "../helpers/workspace.js";

// drd's side of `drctl restore --jobs N`, against a real server: parts as the splitter gives them.
const sessions: pg.Client[] = [];
async function open(db: string, n: number): Promise<pg.Client[]> {
  for (let i = 0; i < n; i++) {
    const c = new pg.Client({ connectionString: pgUrl(db) });
    await c.connect();
    sessions.push(c);
  }
  return sessions.slice(-n);
}
afterEach(async () => {
  await Promise.allSettled(sessions.splice(0).map((s) => s.end()));
});

/** `count` rows of one integer each, in parts of 64 KiB or so, ending at row boundaries. */
function* rowParts(from: number, count: number): Generator<ScriptPart> {
  let rows: string[] = [];
  for (let i = from; i < from + count; i++) {
    rows.push(String(i));
    if (rows.length === 8192) {
      yield { kind: "rows", data: Buffer.from(rows.join("\n") + "\n") };
      rows = [];
    }
  }
  if (rows.length > 0) yield { kind: "rows", data: Buffer.from(rows.join("\n") + "\n") };
}

async function* script(...parts: Array<ScriptPart | Iterable<ScriptPart>>): AsyncGenerator<ScriptPart> {
  for (const p of parts) {
    if (Symbol.iterator in p) yield* p;
    else yield p;
  }
}

const COPY: ScriptPart = { kind: "copy", statement: "COPY public.t (a) FROM stdin;" };

describe("loading a restore script in sessions", () => {
  it("divides a table's rows among the sessions and reports the rows the server took", async () => {
    await freshDatabase(cluster, "sessions_ok");
    const loaded = await loadInSessions(
      script({ kind: "session", sql: "SET client_encoding = 'UTF8';" }, { kind: "sql", sql: "CREATE TABLE public.t (a int);" }, COPY, rowParts(1, 300_000), { kind: "copy-end" }),
      await open("sessions_ok", 3),
    );
    expect(loaded).toEqual(new Map([["public.t", 300_000]]));
    expect(await psql(cluster, "sessions_ok", "SELECT count(*), count(DISTINCT a), sum(a) FROM t")).toBe("300000|300000|45000150000");
  });

  it("stops at a row the server refuses, naming it, without hanging; nothing of the table stays", async () => {
    await freshDatabase(cluster, "sessions_bad");
    const [s1, s2] = await open("sessions_bad", 2);
    const load = loadInSessions(
      script({ kind: "sql", sql: "CREATE TABLE public.t (a int);" }, COPY, rowParts(1, 200_000), { kind: "rows", data: Buffer.from("x\n") }, rowParts(1, 200_000), { kind: "copy-end" }),
      [s1!, s2!],
    );
    await expect(load).rejects.toThrow(/^loading rows failed at "COPY public\.t \(a\) FROM stdin;": invalid input syntax for type integer: "x"/);
    await Promise.allSettled(sessions.splice(0).map((s) => s.end()));
    expect(await psql(cluster, "sessions_bad", "SELECT count(*) FROM t")).toBe("0");
  });

  it("stops at a statement the server refuses, naming it", async () => {
    await freshDatabase(cluster, "sessions_sql");
    const load = loadInSessions(script({ kind: "sql", sql: "--\n-- Name: t; Type: TABLE\n--\n\nCREATE TABLE public.t (a nosuchtype);" }), await open("sessions_sql", 2));
    await expect(load).rejects.toThrow('restoring failed at "CREATE TABLE public.t (a nosuchtype);": type "nosuchtype" does not exist');
  });
});
