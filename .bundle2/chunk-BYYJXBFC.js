import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  PgConnection
} from "./chunk-BDXB57VK.js";
import {
  execa
} from "./chunk-VKGJIJQW.js";
import {
  OperationError
} from "./chunk-RSPIC3EP.js";

// dist/sources/postgres.js
var STDERR_TAIL = 2e3;
async function backupPostgres(job, ctx) {
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    const first = await conn.client(conn.defaultDatabase);
    let serverVersion;
    let serverVersionNum;
    let names;
    try {
      const v = await first.query(`SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS num`);
      serverVersion = v.rows[0].server_version;
      serverVersionNum = Number(v.rows[0].num);
      names = await databaseNames(first, job, conn.defaultDatabase);
    } finally {
      await first.end();
    }
    const databases = [];
    for (const name of names) {
      ctx.signal.throwIfAborted();
      databases.push(await dumpDatabase(conn, name, ctx));
    }
    if (job.globals)
      await dumpGlobals(conn, ctx);
    const postgres = {
      server_version: serverVersion,
      server_version_num: serverVersionNum,
      databases,
      globals: job.globals
    };
    return { kind: "postgres", postgres };
  } finally {
    await conn.close();
  }
}
async function databaseNames(client, job, fallback) {
  if (job.databases === void 0)
    return [fallback];
  const { rows } = await client.query(`SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname`);
  const existing = rows.map((r) => r.datname);
  if (job.databases === "all")
    return existing;
  const missing = job.databases.filter((d) => !existing.includes(d));
  if (missing.length > 0)
    throw new OperationError(`database ${missing.map((m) => `"${m}"`).join(", ")} does not exist on the server`);
  return job.databases;
}
async function dumpDatabase(conn, database, ctx) {
  const client = await conn.client(database);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const snapshot = (await client.query("SELECT pg_export_snapshot() AS s")).rows[0].s;
    const dump = execa("pg_dump", ["--format=custom", "--compress=0", `--snapshot=${snapshot}`, "--no-password", `--dbname=${conn.urlFor(database)}`], { buffer: { stdout: false, stderr: true }, stdin: "ignore", env: conn.toolEnv(), cancelSignal: ctx.signal, reject: false });
    const artifact = ctx.sink.write({ baseName: `${safeFileName(database)}.dump`, role: "database", database, format: "pg_dump-custom" }, dump.stdout, () => settled(dump, "pg_dump", conn));
    const counting = countRows(client);
    const [artifactResult, countResult] = await Promise.allSettled([artifact, counting, settled(dump, "pg_dump", conn)]);
    if (countResult.status === "rejected")
      throw new OperationError(`counting rows in ${database}: ${conn.mask(countResult.reason.message)}`);
    if (artifactResult.status === "rejected")
      throw artifactResult.reason;
    const size = await client.query("SELECT pg_database_size(current_database())::text AS size");
    await client.query("COMMIT");
    return { name: database, size_bytes: Number(size.rows[0].size), tables: countResult.value };
  } finally {
    await client.end().catch(() => void 0);
  }
}
async function dumpGlobals(conn, ctx) {
  const dump = execa("pg_dumpall", ["--globals-only", "--no-password", `--dbname=${conn.url.href}`, `--database=${conn.defaultDatabase}`], { buffer: { stdout: false, stderr: true }, stdin: "ignore", env: conn.toolEnv(), cancelSignal: ctx.signal, reject: false });
  const artifact = ctx.sink.write({ baseName: "globals.sql", role: "globals", format: "sql" }, dump.stdout, () => settled(dump, "pg_dumpall --globals-only", conn));
  const [a, d] = await Promise.allSettled([artifact, settled(dump, "pg_dumpall --globals-only", conn)]);
  if (d.status === "rejected")
    throw d.reason;
  if (a.status === "rejected")
    throw a.reason;
}
async function countRows(client) {
  await client.query("SET LOCAL max_parallel_workers_per_gather = 0");
  const { rows } = await client.query(`
    SELECT n.nspname AS schema, c.relname AS table,
           (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text AS rows
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     ORDER BY 1, 2`);
  return rows.map((r) => ({ schema: r.schema, table: r.table, rows: Number(r.rows) }));
}
async function settled(proc, tool, conn) {
  const result = await proc;
  if (result.exitCode === 0 && !result.isTerminated)
    return;
  const stderr = conn.mask(String(result.stderr ?? "")).trim();
  const tail = stderr.length > STDERR_TAIL ? `\u2026${stderr.slice(-STDERR_TAIL)}` : stderr;
  const how = result.isCanceled ? "was cancelled" : result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`;
  const missing = result.code === "ENOENT" ? " (is the PostgreSQL client installed?)" : "";
  throw new OperationError(`${tool} ${how}${missing}${tail ? `: ${tail.replace(/\s*\n\s*/g, " | ")}` : ""}`);
}
function safeFileName(name) {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) || c === "." && out !== "" ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export {
  backupPostgres,
  databaseNames
};
