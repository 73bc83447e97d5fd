import { describe, expect, it } from "vitest";
import { copyTable, ScriptSplitter, type ScriptPart } from "../../src/app/restore/restore-script.js";

// The layout pg_restore -f - writes (PostgreSQL 15), trimmed to what the splitter relies on.
const SCRIPT = [
  "--",
  "-- PostgreSQL database dump",
  "--",
  "",
  "\\restrict AbC123",
  "",
  "SET statement_timeout = 0;",
  "SET client_encoding = 'UTF8';",
  "SELECT pg_catalog.set_config('search_path', '', false);",
  "",
  "--",
  "-- Name: f(); Type: FUNCTION; Schema: public; Owner: postgres",
  "--",
  "",
  "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$",
  "COPY public.t (a) FROM stdin;",
  "SELECT 1;",
  "$$;",
  "",
  "--",
  "-- Name: t; Type: TABLE; Schema: public; Owner: postgres",
  "--",
  "",
  "CREATE TABLE public.t (a text);",
  "",
  "--",
  "-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres",
  "--",
  "",
  "COPY public.t (a) FROM stdin;",
  "one",
  "a\\\\.b",
  "\\\\.",
  "tab\\there",
  "\\.",
  "",
  "",
  "--",
  "-- Data for Name: e; Type: TABLE DATA; Schema: public; Owner: postgres",
  "--",
  "",
  "COPY public.e (a) FROM stdin;",
  "\\.",
  "",
  "",
  "--",
  "-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres",
  "--",
  "",
  "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (a);",
  "",
  "--",
  "-- PostgreSQL database dump complete",
  "--",
  "",
  "\\unrestrict AbC123",
  "",
].join("\n");

const ROWS = "one\na\\\\.b\n\\\\.\ntab\\there\n";

/** Parts with each table's rows joined, so any chunking compares equal. */
function split(chunks: Buffer[], largeObjectPart?: number): Array<Exclude<ScriptPart, { kind: "rows" }> | { kind: "rows"; text: string }> {
  const splitter = new ScriptSplitter(largeObjectPart);
  const parts = [...chunks.flatMap((c) => [...splitter.push(c)]), ...splitter.end()];
  const out: Array<Exclude<ScriptPart, { kind: "rows" }> | { kind: "rows"; text: string }> = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.kind === "rows") {
      // Every rows part ends at a row boundary: any session may take it.
      expect(p.data[p.data.length - 1]).toBe(0x0a);
      if (last?.kind === "rows") last.text += p.data.toString();
      else out.push({ kind: "rows", text: p.data.toString() });
    } else {
      out.push(p);
    }
  }
  return out;
}

describe("splitting pg_restore's script", () => {
  it("gives the session settings, each entry, and each table's rows between COPY and \\.", () => {
    const parts = split([Buffer.from(SCRIPT)]);
    expect(parts.map((p) => p.kind)).toEqual(["session", "sql", "sql", "copy", "rows", "copy-end", "copy", "copy-end", "sql"]);
    expect(parts[0]).toEqual({ kind: "session", sql: "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSELECT pg_catalog.set_config('search_path', '', false);" });
    // A COPY line inside a function body is SQL, not table data.
    expect((parts[1] as { sql: string }).sql).toContain("COPY public.t (a) FROM stdin;\nSELECT 1;\n$$;");
    expect(parts[3]).toEqual({ kind: "copy", statement: "COPY public.t (a) FROM stdin;" });
    expect(parts[4]).toEqual({ kind: "rows", text: ROWS });
    expect((parts[8] as { sql: string }).sql).toContain("ADD CONSTRAINT t_pkey");
    expect(JSON.stringify(parts)).not.toContain("restrict");
  });

  it("gives the same parts however the script is cut into chunks", () => {
    const whole = split([Buffer.from(SCRIPT)]);
    const bytes = Buffer.from(SCRIPT);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
    expect(split([...bytes].map((b) => Buffer.from([b])))).toEqual(whole);
  });

  it("sends a large-object entry in parts at statement ends, so it never piles up in memory", () => {
    const blobs = [
      "SET client_encoding = 'UTF8';",
      "",
      "--",
      "-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -",
      "--",
      "",
      "BEGIN;",
      "",
      "SELECT pg_catalog.lo_open('16390', 131072);",
      `SELECT pg_catalog.lowrite(0, '\\x${"ab".repeat(300)}');`,
      `SELECT pg_catalog.lowrite(0, '\\x${"cd".repeat(300)}');`,
      "SELECT pg_catalog.lo_close(0);",
      "",
      "COMMIT;",
      "",
    ].join("\n");
    const parts = split([Buffer.from(blobs)], 500);
    const sql = parts.filter((p) => p.kind === "sql").map((p) => (p as { sql: string }).sql);
    expect(sql.length).toBeGreaterThan(1);
    for (const s of sql.slice(0, -1)) expect(s.trimEnd().endsWith(";")).toBe(true);
    expect(sql.join("\n")).toContain("BEGIN;");
    expect(sql.join("\n")).toContain("COMMIT;");
  });

  it.each([
    ["a psql command it cannot run", "SET a = 1;\n\\connect other\n", /holds a psql command drd cannot run: \\connect other/],
    ["a script cut inside a table's rows", SCRIPT.slice(0, SCRIPT.indexOf("tab\\there")), /ended in the middle of a table's rows/],
  ])("refuses %s", (_name, script, message) => {
    expect(() => split([Buffer.from(script)])).toThrow(message);
  });
});

describe("the table a COPY line loads", () => {
  it.each([
    ["COPY public.events (id, at) FROM stdin;", { schema: "public", table: "events" }],
    ['COPY "My Schema"."odd ""name"" . x" (a) FROM stdin;', { schema: "My Schema", table: 'odd "name" . x' }],
    ["COPY public.no_columns  FROM stdin;", { schema: "public", table: "no_columns" }],
    ["COPY events (id) FROM stdin;", undefined],
    ["SELECT 1;", undefined],
  ])("%s", (statement, table) => {
    expect(copyTable(statement)).toEqual(table);
  });
});
