import { readdirSync } from "node:fs";

/** The newest installed PostgreSQL server's binaries (Debian keeps them off PATH); $PG_BIN names others. */
export function serverBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const versions = (() => {
    try {
      return readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
    } catch {
      return [];
    }
  })();
  if (versions.length === 0) throw new Error("no PostgreSQL server in /usr/lib/postgresql (install the postgresql package, or set PG_BIN)");
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}
