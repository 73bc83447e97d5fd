import { once } from "node:events";
import { finished } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom, type CopyStreamQuery } from "pg-copy-streams";
import { OperationError } from "../../errors.js";
import { copyTable, firstStatementLine, type ScriptPart } from "./restore-script.js";

/** Rows go to a session in writes of about this much (fewer, larger writes cost this process less). */
const ROWS_PER_TURN = 1024 * 1024;
/** Each session's COPY holds at most about this much in this process before the load waits. */
const COPY_BUFFER = 2 * ROWS_PER_TURN;

/**
 * Runs a restore script's parts on `sessions`: entries in order on the first session, and
 * each table's rows divided among all of them, a COPY per session, so one big table loads
 * on as many server processes as there are sessions. An entry runs only after everything
 * before it finished, as with pg_restore: indexes and constraints come after the rows.
 * The first error stops the load. Resolves with the rows the server reported taking, by
 * table ("schema.table", as the manifest counts them).
 */
export async function loadInSessions(parts: AsyncIterable<ScriptPart>, sessions: pg.Client[]): Promise<Map<string, number>> {
  const main = sessions[0]!;
  const loaded = new Map<string, number>();
  let copy: TableCopy | undefined;
  for await (const part of parts) {
    switch (part.kind) {
      case "session":
        if (part.sql) for (const s of sessions) await run(s, part.sql);
        break;
      case "sql":
        await run(main, part.sql);
        break;
      case "copy":
        copy = new TableCopy(part.statement, sessions);
        break;
      case "rows":
        await copy!.write(part.data);
        break;
      case "copy-end": {
        const rows = await copy!.end();
        const table = copyTable(copy!.statement);
        const key = table && `${table.schema}.${table.table}`;
        if (key) loaded.set(key, (loaded.get(key) ?? 0) + rows);
        copy = undefined;
        break;
      }
    }
  }
  return loaded;
}

async function run(session: pg.Client, sql: string): Promise<void> {
  try {
    await session.query(sql);
  } catch (err) {
    throw new OperationError(`restoring failed at "${firstStatement(sql)}": ${describe(err)}`, { cause: err });
  }
}

/**
 * One table's rows, sent in turns of about 1 MiB to a COPY on each session (opened when
 * first needed). Each session's COPY runs in a transaction that commits only once every
 * session's COPY of the table succeeded: a failed load never leaves part of a table.
 */
class TableCopy {
  private readonly copies: (CopyStreamQuery | undefined)[];
  private current = -1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Rejects with the first COPY's error; `failed` holds it, so no rows go to a COPY that already ended. */
  private readonly failure: Promise<never>;
  private failed: Error | undefined;
  private reject!: (err: Error) => void;

  constructor(
    readonly statement: string,
    private readonly sessions: pg.Client[],
  ) {
    this.copies = sessions.map(() => undefined);
    this.failure = new Promise<never>((_, reject) => (this.reject = reject));
    // Seen only through write() and end(); never an unhandled rejection on its own.
    this.failure.catch(() => undefined);
  }

  /** Takes rows (whole rows only); sends them once a turn's worth is here. */
  async write(rows: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    this.pending.push(rows);
    this.pendingBytes += rows.length;
    if (this.pendingBytes >= ROWS_PER_TURN) await this.sendTurn();
  }

  /** Sends what is left, ends every COPY (an empty table still gets one), waits for the server to take them; resolves with their rows. */
  async end(): Promise<number> {
    if (this.failed) throw this.failed;
    if (this.pendingBytes > 0 || this.copies.every((c) => c === undefined)) await this.sendTurn();
    const open = this.copies.flatMap((c, i) => (c ? [{ copy: c, session: this.sessions[i]! }] : []));
    for (const { copy } of open) copy.end();
    await Promise.race([Promise.all(open.map(({ copy }) => finished(copy))), this.failure]);
    await Promise.all(open.map(({ session }) => run(session, "COMMIT")));
    return open.reduce((sum, { copy }) => sum + copy.rowCount, 0);
  }

  /** A turn's rows, to the next session whose COPY is not waiting for the server (else simply the next). */
  private async sendTurn(): Promise<void> {
    const n = this.sessions.length;
    let next = (this.current + 1) % n;
    for (let step = 1; step <= n; step++) {
      const i = (this.current + step) % n;
      if (!this.copies[i]?.writableNeedDrain) {
        next = i;
        break;
      }
    }
    this.current = next;
    const copy = await this.open(next);
    // Written as they came (one COPY message each), not joined: joining would copy every byte once more.
    let room = true;
    for (const rows of this.pending) room = copy.write(rows);
    this.pending = [];
    this.pendingBytes = 0;
    if (!room) await Promise.race([once(copy, "drain"), this.failure]);
  }

  private async open(i: number): Promise<CopyStreamQuery> {
    let copy = this.copies[i];
    if (!copy) {
      await run(this.sessions[i]!, "BEGIN");
      copy = this.sessions[i]!.query(copyFrom(this.statement, { highWaterMark: COPY_BUFFER }));
      copy.once("error", (err) => {
        this.failed ??= new OperationError(`loading rows failed at "${this.statement.slice(0, 80)}": ${describe(err)}`, { cause: err });
        this.reject(this.failed);
      });
      this.copies[i] = copy;
    }
    return copy;
  }
}

function firstStatement(sql: string): string {
  const line = firstStatementLine(sql) ?? "";
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

function describe(err: unknown): string {
  const e = err as { message?: string; detail?: string; where?: string };
  return [e.message ?? String(err), e.detail].filter(Boolean).join(": ").replace(/\s*\n\s*/g, " | ");
}
