import type { TestProject } from "vitest/node";
import { startCluster } from "./helpers/postgres-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgPort: number;
  }
}

/** One throwaway PostgreSQL 15 cluster for the whole run; never skipped. */
export default async function setup(project: TestProject) {
  const cluster = await startCluster();
  project.provide("pgPort", cluster.port);
  return async () => {
    await cluster.stop();
  };
}
