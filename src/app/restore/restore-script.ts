import { OperationError } from "../../errors.js";

/**
 * What a restore script (`pg_restore -f -`) holds, in order:
 * - `session`: the settings written before the first entry (encoding, search_path, ...),
 *   which every session that loads rows must share;
 * - `sql`: one archive entry's statements, sent as one query as pg_restore itself sends them;
 * - `copy`: a table's COPY statement, then its rows in `rows` parts that each end at a row
 *   boundary (so any part may go to any session), then `copy-end`.
 */
export type ScriptPart =
  | { kind: "session"; sql: string }
  | { kind: "sql"; sql: string }
  | { kind: "copy"; statement: string }
  | { kind: "rows"; data: Buffer }
  | { kind: "copy-end" };

/** A large-object entry is one transaction of one-line statements; it is sent in parts of about this size. */
const LARGE_OBJECT_PART = 8 * 1024 * 1024;

const NEWLINE = 0x0a;
const END_OF_COPY = Buffer.from("\\.\n");
const ENTRY_HEADER = /^-- (Data for )?Name: .*; Type: (.*); Schema: .*; Owner: .*$/;
const SESSION_SETTING = /^(SET \w+ = .*|SELECT pg_catalog\.set_config\(.*\));$/;
const COPY_STATEMENT = /^COPY .+ FROM stdin;$/;
/** psql commands pg_restore writes around a script against a hostile server; they carry no SQL. */
const HARMLESS_PSQL_COMMAND = /^\\(un)?restrict \w+$/;

/**
 * Splits pg_restore's plain script into parts, streaming: only one entry's statements, or
 * one unfinished row, is held at a time. It relies on the layout pg_restore writes: a
 * "-- Name: ...; Type: ...; ..." header before every entry, and table data as "COPY ...
 * FROM stdin;", rows, and a "\." line. A line that merely looks like a header inside a
 * function body splits that body and makes it fail loudly, never run differently.
 */
export async function* restoreScriptParts(script: AsyncIterable<Buffer>, largeObjectPart = LARGE_OBJECT_PART): AsyncGenerator<ScriptPart> {
  const splitter = new ScriptSplitter(largeObjectPart);
  for await (const chunk of script) yield* splitter.push(chunk);
  yield* splitter.end();
}

export class ScriptSplitter {
  private carry: Buffer | undefined;
  private inCopy = false;
  private entry: string[] = [];
  private entrySize = 0;
  private entryType: string | undefined;
  private sessionSent = false;

  constructor(private readonly largeObjectPart = LARGE_OBJECT_PART) {}

  *push(chunk: Buffer): Generator<ScriptPart> {
    let buf = chunk;
    let pos = 0;
    if (this.carry && this.inCopy) {
      // Only the unfinished row is joined with its rest: copying every chunk would double this process's work.
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const row = Buffer.concat([this.carry, chunk.subarray(0, newline + 1)]);
      this.carry = undefined;
      if (row.equals(END_OF_COPY)) {
        yield { kind: "copy-end" };
        this.inCopy = false;
      } else {
        yield { kind: "rows", data: row };
      }
      pos = newline + 1;
    } else if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    while (pos < buf.length) {
      if (this.inCopy) {
        const end = findEndOfCopy(buf, pos);
        if (end < 0) {
          // Rows up to the last newline go now; an unfinished row (or a "\." still to be completed) waits.
          const lastNewline = buf.lastIndexOf(NEWLINE);
          if (lastNewline >= pos) yield { kind: "rows", data: buf.subarray(pos, lastNewline + 1) };
          if (lastNewline + 1 < buf.length) this.carry = buf.subarray(Math.max(pos, lastNewline + 1));
          return;
        }
        if (end > pos) yield { kind: "rows", data: buf.subarray(pos, end) };
        yield { kind: "copy-end" };
        this.inCopy = false;
        pos = end + END_OF_COPY.length;
        continue;
      }
      const newline = buf.indexOf(NEWLINE, pos);
      if (newline < 0) {
        this.carry = buf.subarray(pos);
        return;
      }
      yield* this.line(buf.toString("utf8", pos, newline));
      pos = newline + 1;
    }
  }

  *end(): Generator<ScriptPart> {
    if (this.inCopy) throw new OperationError("pg_restore's script ended in the middle of a table's rows");
    if (this.carry) yield* this.line(this.carry.toString("utf8"));
    this.carry = undefined;
    yield* this.flush();
  }

  private *line(line: string): Generator<ScriptPart> {
    const header = ENTRY_HEADER.exec(line);
    if (header && this.entry[this.entry.length - 1] === "--") {
      this.entry.pop();
      yield* this.flush();
      this.entry.push("--");
      this.entryType = header[2];
    }
    if (line.startsWith("\\")) {
      if (HARMLESS_PSQL_COMMAND.test(line)) return;
      throw new OperationError(`pg_restore's script holds a psql command drd cannot run: ${line.slice(0, 40)}`);
    }
    if (this.entryType === "TABLE DATA" && COPY_STATEMENT.test(line)) {
      yield* this.flush();
      yield { kind: "copy", statement: line };
      this.inCopy = true;
      this.entryType = undefined;
      return;
    }
    this.entry.push(line);
    this.entrySize += line.length + 1;
    // Large objects come as one long transaction of one-line statements: sent in parts, they never pile up here.
    if (this.entryType === "BLOBS" && this.entrySize >= this.largeObjectPart && line.endsWith(";")) yield* this.flush();
  }

  private *flush(): Generator<ScriptPart> {
    const sql = this.entry.join("\n");
    this.entry = [];
    this.entrySize = 0;
    if (!this.sessionSent) {
      // The settings every session needs; anything else up front (--clean's drops) runs once.
      this.sessionSent = true;
      const lines = sql.split("\n");
      yield { kind: "session", sql: lines.filter((l) => SESSION_SETTING.test(l)).join("\n") };
      const rest = lines.filter((l) => !SESSION_SETTING.test(l)).join("\n");
      if (hasStatement(rest)) yield { kind: "sql", sql: rest };
    } else if (hasStatement(sql)) {
      yield { kind: "sql", sql };
    }
  }
}

/** The first line of `sql` that is neither blank nor a comment: where its first statement starts. */
export function firstStatementLine(sql: string): string | undefined {
  return sql.split("\n").find((l) => l.trim() !== "" && !l.startsWith("--"));
}

function hasStatement(sql: string): boolean {
  return firstStatementLine(sql) !== undefined;
}

/** Where the "\." line that ends a table's rows starts, if in `buf` at or after `pos` (a row start). */
function findEndOfCopy(buf: Buffer, pos: number): number {
  if (buf.subarray(pos, pos + END_OF_COPY.length).equals(END_OF_COPY)) return pos;
  const at = buf.indexOf("\n\\.\n", pos);
  return at < 0 ? -1 : at + 1;
}

/** The table a `COPY schema.table (columns) FROM stdin;` line loads, its names unquoted. */
export function copyTable(statement: string): { schema: string; table: string } | undefined {
  const m = /^COPY ("(?:[^"]|"")+"|[^\s."]+)\.("(?:[^"]|"")+"|[^\s."(]+)[ (]/.exec(statement);
  if (!m) return undefined;
  const unquote = (id: string) => (id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"') : id);
  return { schema: unquote(m[1]!), table: unquote(m[2]!) };
}
