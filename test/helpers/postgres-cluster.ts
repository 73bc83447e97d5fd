import { psql, type Cluster } from "../../src/demo/postgres.js";

export { freePort, PASSWORD_ROLE, psql, startCluster, type Cluster } from "../../src/demo/postgres.js";

/** Drops and creates `database`, then runs `setupSql` in it. */
export async function freshDatabase(cluster: Pick<Cluster, "url">, database: string, setupSql?: string): Promise<void> {
  await psql(cluster, "postgres", `DROP DATABASE IF EXISTS "${database}"`);
  await psql(cluster, "postgres", `CREATE DATABASE "${database}"`);
  if (setupSql) await psql(cluster, database, setupSql);
}
