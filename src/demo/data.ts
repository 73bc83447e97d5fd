import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The sample database: 1,000 customers and their orders (the database drill counts the customers). */
export const SAMPLE_SQL = `
create table customers (id serial primary key, name text not null, email text not null unique, created_at timestamptz not null default now());
create table orders (id serial primary key, customer_id int not null references customers(id), total numeric(10,2) not null, placed_at timestamptz not null default now());
insert into customers (name, email) select 'customer ' || i, 'customer' || i || '@example.net' from generate_series(1, 1000) as i;
insert into orders (customer_id, total, placed_at)
  select 1 + (i % 1000), round((random() * 500)::numeric, 2), now() - (i || ' minutes')::interval from generate_series(1, 5000) as i;
`;

/** A small configuration tree, as a service's /etc directory would hold. */
export function writeSampleConfig(dir: string): void {
  mkdirSync(join(dir, "conf.d"), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "app.yaml"), "listen: 0.0.0.0:8080\ndatabase: postgresql://app@db/shop\nworkers: 4\n");
  writeFileSync(join(dir, "conf.d", "logging.yaml"), "level: info\nformat: json\n");
  writeFileSync(join(dir, "conf.d", "limits.yaml"), "max_body: 10MiB\nrequests_per_minute: 600\n");
}

/** A certificates directory: a real private key (0600) and its public half, the kind of files the encrypted job exists for. */
export function writeSampleCertificates(dir: string): void {
  mkdirSync(join(dir, "private"), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  writeFileSync(join(dir, "private", "server.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  writeFileSync(join(dir, "server.pub"), publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
}
