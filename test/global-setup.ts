import { execa } from "execa";
import type { TestProject } from "vitest/node";
import { startCluster } from "./helpers/postgres-cluster.js";
import { S3Server } from "./helpers/s3.js";
import { createSigningKeys } from "./helpers/signing.js";
import { rmSync } from "node:fs";

declare module "vitest" {
  export interface ProvidedContext {
    pgPort: number;
    s3Port: number;
    /** A signing key pair every test config signs with (signing-secret.asc, signing-public.asc). */
    signingKeyDir: string;
  }
}

/** One throwaway PostgreSQL cluster and one S3-protocol server for the whole run; never skipped. */
export default async function setup(project: TestProject) {
  // Tests run drctl as users do (bin/drctl.js -> bundle/, built from dist/); build both so they never test stale code.
  await execa("npm", ["run", "--silent", "build"], { cwd: new URL("..", import.meta.url).pathname });
  const cluster = await startCluster();
  const s3 = await new S3Server().start();
  const keys = await createSigningKeys();
  project.provide("pgPort", cluster.port);
  project.provide("s3Port", s3.port);
  project.provide("signingKeyDir", keys);
  return async () => {
    await cluster.stop();
    await s3.remove();
    rmSync(keys, { recursive: true, force: true });
  };
}
