import { join } from "node:path";
import { execa } from "execa";
import { freePort, serverBin } from "../../src/demo/postgres.js";

/** One value from a restored data directory, started for the query and stopped after. */
export async function query(dir: string, sql: string): Promise<string> {
  const restored = await startRestored(dir);
  try {
    return (await execa("psql", ["-XAtq", "-h", dir, "-p", String(restored.port), "-U", "postgres", "-d", "postgres", "-c", sql])).stdout;
  } finally {
    await restored.stop();
  }
}

/** Starts a restored data directory (already recovered and promoted by --check, or recovering now) as its owner. */
export async function startRestored(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const asPostgres = (args: string[]) => execa("runuser", ["-u", "postgres", "--", ...args]);
  await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-w", "-t", "120", "-l", join(dir, "test-start.log"), "-o", `-p ${port} -c listen_addresses='' -k ${dir}`, "start"]);
  for (let i = 0; i < 100; i++) {
    const r = await execa("psql", ["-XAtq", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", "SELECT pg_is_in_recovery()"], { reject: false });
    if (r.stdout === "f") break;
    await new Promise((res) => setTimeout(res, 200));
  }
  return { port, stop: async () => void (await asPostgres([join(serverBin(), "pg_ctl"), "-D", dir, "-m", "fast", "-w", "stop"])) };
}
