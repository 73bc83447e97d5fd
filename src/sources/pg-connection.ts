import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { OperationError } from "../errors.js";
import { readSecretFile } from "../secret-file.js";

const DEFAULT_CONNECT_TIMEOUT_S = 10;

/**
 * How drd reaches one PostgreSQL server: the libpq URL from the config (never with a
 * password) plus, when `password_file` is set, the password held in memory: given to
 * drd's own sessions directly and to the client tools in their environment (PGPASSWORD,
 * which on Linux only the same user and root can read). It never appears on a command
 * line or in a log, and no file holds it, so no way out of a command can leave it behind.
 */
export class PgConnection {
  private constructor(
    readonly url: URL,
    private readonly password: string | undefined,
  ) {}

  static async open(connection: string, passwordFile?: string): Promise<PgConnection> {
    const url = new URL(connection);
    return new PgConnection(url, passwordFile ? await readSecretFile(passwordFile, "password") : undefined);
  }

  /** Kept for callers that pair open() with close(): nothing on disk to remove. */
  async close(): Promise<void> {}

  /** The default database: the one named in the URL, else the user's name, as libpq does. */
  get defaultDatabase(): string {
    const fromPath = decodeURIComponent(this.url.pathname.replace(/^\//, ""));
    return fromPath || this.url.searchParams.get("dbname") || decodeURIComponent(this.url.username) || process.env.PGDATABASE || process.env.USER || "postgres";
  }

  /** The URL for one database of the same server. */
  urlFor(database: string): string {
    const u = new URL(this.url.href);
    u.pathname = `/${encodeURIComponent(database)}`;
    u.searchParams.delete("dbname");
    return u.href;
  }

  /**
   * Environment for pg_dump and friends: the password, if any (their commands run with
   * --no-password: no prompts), and the connect timeout (libpq waits for ever by default).
   */
  toolEnv(): Record<string, string> {
    const env: Record<string, string> = { PGCONNECT_TIMEOUT: String(this.connectTimeoutSeconds) };
    if (this.password !== undefined) env.PGPASSWORD = this.password;
    return env;
  }

  /** The URL's connect_timeout (libpq's own parameter), else 10 s: a server that never answers fails the connection. */
  get connectTimeoutSeconds(): number {
    const given = Number(this.url.searchParams.get("connect_timeout"));
    return Number.isInteger(given) && given > 0 ? given : DEFAULT_CONNECT_TIMEOUT_S;
  }

  /** The URL as shown to a user (it never holds a password). */
  describe(database?: string): string {
    return database ? this.urlFor(database) : this.url.href;
  }

  async client(database: string): Promise<pg.Client> {
    // Parsed here rather than passed as connectionString: pg lets the string's (absent) password win over ours.
    // The name is set as is: pg decodes the URL's path with decodeURI, which leaves %2F, %3A, %40 and the like encoded.
    const config = { ...parseIntoClientConfig(this.urlFor(database)), database, application_name: "drd", connectionTimeoutMillis: this.connectTimeoutSeconds * 1000, keepAlive: true };
    if (this.password !== undefined) config.password = this.password;
    const client = new pg.Client(config);
    // A connection the server drops while idle fails the next query; unheard, it would end the process.
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw new OperationError(`cannot connect to ${this.describe(database)}: ${this.mask((err as Error).message)}`);
    }
    return client;
  }

  /** Removes the password from text that may reach a log or the catalog. */
  mask(text: string): string {
    return this.password ? text.split(this.password).join("********") : text;
  }
}
