import { execa } from "execa";
import type { TestProject } from "vitest/node";
import { startCluster } from "./helpers/postgres-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgPort: number;
  }
}

/** One throwaway PostgreSQL 15 cluster for the whole run; never skipped. */
export default async function setup(project: TestProject) {
  // Tests run drctl as users do (bin/drctl.js -> dist/); build so they never test stale code.
  await execa("npx", ["tsc", "-p", "tsconfig.json"], { cwd: new URL("..", import.meta.url).pathname });
  const cluster = await startCluster();
  project.provide("pgPort", cluster.port);
  return async () => {
    await cluster.stop();
  };
}
