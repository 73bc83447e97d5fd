import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { serverBin } from "../sources/pg-bin.js";

export { serverBin };

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 and a free port, for the demo and the tests,
 * owned by the `postgres` OS user when we are root (the server refuses root).
 */
export interface Cluster {
  port: number;
  socketDir: string;
  dataDir: string;
  url(database?: string, user?: string): string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
  /** Stops the server and keeps its data (an outage); `resume` starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** A role that must authenticate with a password (scram), for password_file tests. */
export const PASSWORD_ROLE = "drd_pw";

/** Every wait on the server has an end: initdb and a start take seconds, not minutes. */
const SERVER_STEP_MS = 120_000;

/**
 * A port free now, for a server started a moment later. Taken below the kernel's ephemeral
 * range: a port from that range (what listening on 0 returns) can be taken meanwhile as the
 * local end of any outgoing connection, and the server then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  const low = 20_000;
  const high = Math.max(low + 1_000, ephemeralLow);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function asPostgres(cmd: string, args: string[]) {
  const opts = { timeout: SERVER_STEP_MS };
  return process.getuid?.() === 0 ? execa("runuser", ["-u", "postgres", "--", cmd, ...args], opts) : execa(cmd, args, opts);
}

/** Starts a cluster in a new directory below `parent` (default: the temp directory). */
/**
 * A throwaway cluster. `configOutside`: its postgresql.conf, pg_hba.conf and pg_ident.conf
 * live beside the data directory, not in it, as Debian keeps them in /etc/postgresql.
 */
export async function startCluster(parent = tmpdir(), options: { configOutside?: boolean } = {}): Promise<Cluster> {
  const bin = serverBin();
  const root = mkdtempSync(join(parent, "drd-pg-"));
  chmodSync(root, 0o755);
  const dataDir = join(root, "data");
  const socketDir = join(root, "sock");
  const etc = join(root, "etc");
  for (const dir of [dataDir, socketDir, ...(options.configOutside ? [etc] : [])]) {
    mkdirSync(dir, { mode: 0o700 });
    if (process.getuid?.() === 0) {
      const uid = Number((await execa("id", ["-u", "postgres"])).stdout);
      const gid = Number((await execa("id", ["-g", "postgres"])).stdout);
      chownSync(dir, uid, gid);
    }
  }
  await asPostgres(`${bin}/initdb`, ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
  writeFileSync(
    join(dataDir, "pg_hba.conf"),
    [
      `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256`,
      "local all all trust",
      "host all all 127.0.0.1/32 trust",
      // Base backups and WAL streaming (cluster jobs) connect for replication.
      "local replication all trust",
      "host replication all 127.0.0.1/32 trust",
      "",
    ].join("\n"),
  );
  let configFile = "";
  if (options.configOutside) {
    for (const name of ["postgresql.conf", "pg_hba.conf", "pg_ident.conf"]) await asPostgres("mv", [join(dataDir, name), join(etc, name)]);
    await asPostgres("sh", ["-c", `printf "%s\\n" "hba_file = '${etc}/pg_hba.conf'" "ident_file = '${etc}/pg_ident.conf'" >> ${etc}/postgresql.conf`]);
    configFile = ` -c config_file=${join(etc, "postgresql.conf")}`;
  }
  const port = await freePort();
  const start = () =>
    asPostgres(`${bin}/pg_ctl`, [
      "-D", dataDir, "-w", "-l", join(dataDir, "server.log"),
      "-o", `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off${configFile}`,
      "start",
    ]);
  await start();
  return {
    port,
    socketDir,
    dataDir,
    url: (database = "postgres", user = "postgres") => `postgresql://${user}@127.0.0.1:${port}/${database}`,
    pause: async () => void (await asPostgres(`${bin}/pg_ctl`, ["-D", dataDir, "-m", "fast", "-w", "stop"])),
    resume: async () => void (await start()),
    stop: async () => {
      await stopServer(dataDir);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Stops the server of `dataDir` at once, if one runs there. */
export async function stopServer(dataDir: string): Promise<void> {
  await asPostgres(`${serverBin()}/pg_ctl`, ["-D", dataDir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
}

/** Runs SQL with psql as the superuser. */
export async function psql(cluster: Pick<Cluster, "url">, database: string, sql: string): Promise<string> {
  const { stdout } = await execa("psql", ["-XAtq", "-v", "ON_ERROR_STOP=1", "-d", cluster.url(database), "-c", sql], { timeout: 600_000 });
  return stdout;
}
