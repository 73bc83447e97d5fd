/**
 * The demo's config: four jobs (a database, a config directory, encrypted certificates, and the
 * whole cluster with its WAL for point-in-time restores) to a local target and an S3 one, drills for each, metrics, and a webhook to the demo's receiver.
 * Pure: the places and the pace in, the YAML text out.
 */

/** Where the demo's parts are. */
export interface DemoPlaces {
  /** The daemon's own directory: config, keys, catalog, local backups. */
  home: string;
  /** The directories the files jobs back up. */
  configDir: string;
  certsDir: string;
  /** The sample database (a superuser URL: the demo's throwaway cluster trusts loopback). */
  databaseUrl: string;
  /** Where the database drill creates its scratch databases. */
  drillUrl: string;
  /** The whole cluster (a role with REPLICATION), for the cluster job's base backups and WAL stream. */
  clusterUrl: string;
  s3Endpoint: string;
  bucket: string;
  receiverUrl: string;
  metricsPort: number;
}

/** How fast the demo runs: the schedules, objectives and drill times. */
export interface DemoPace {
  name: string;
  database: { every: number; rpo: number };
  files: { every: number; rpo: number };
  /** A drill runs this often per job; the jobs' drills are spread apart by `drillGap`. */
  drillEvery: number;
  drillGap: number;
  /** The first drill comes this long after the start: the first backups are done by then. */
  drillLead: number;
  rto: number;
}

/**
 * `normal` is what `npm start` shows a person: a database backed up every 30 s with a 1 minute
 * RPO, so its breach and recovery happen within five minutes; `quick` is the same story in
 * about a minute, for the demo's test.
 */
export const PACES: Record<"normal" | "quick", DemoPace> = {
  normal: { name: "normal", database: { every: 30, rpo: 60 }, files: { every: 60, rpo: 180 }, drillEvery: 60, drillGap: 10, drillLead: 30, rto: 60 },
  quick: { name: "quick", database: { every: 5, rpo: 15 }, files: { every: 10, rpo: 30 }, drillEvery: 20, drillGap: 3, drillLead: 10, rto: 30 },
};

/** A cron line (seconds first) that fires every `seconds` (a divisor of 60, or whole minutes dividing 60). */
export function everySeconds(seconds: number, offset = 0): string {
  if (seconds < 60) {
    if (60 % seconds !== 0) throw new Error(`${seconds} s does not divide a minute`);
    const marks = Array.from({ length: 60 / seconds }, (_, i) => (offset + i * seconds) % 60).sort((a, b) => a - b);
    return `${marks.join(",")} * * * * *`;
  }
  const minutes = seconds / 60;
  if (!Number.isInteger(minutes) || 60 % minutes !== 0) throw new Error(`${seconds} s is not a whole number of minutes dividing an hour`);
  return `${offset % 60} ${minutes === 1 ? "*" : `*/${minutes}`} * * * *`;
}

/**
 * Drill `i`'s schedule: every `drillEvery` seconds, its first slot `drillLead + i * drillGap`
 * seconds after `startedAt` (the first backups, run at once on the daemon's first start, are
 * done by then; a drill with no backup to restore fails). No earlier slot falls after the start
 * while the lead and the gaps fit in one period.
 */
export function drillSchedule(pace: DemoPace, startedAt: Date, i: number): string {
  const delay = pace.drillLead + i * pace.drillGap;
  if (delay > pace.drillEvery) throw new Error(`drill ${i} would come ${delay} s after the start, past its period of ${pace.drillEvery} s`);
  return everySeconds(pace.drillEvery, startedAt.getUTCSeconds() + delay);
}

const seconds = (n: number) => `${n}s`;

export function demoConfig(p: DemoPlaces, pace: DemoPace, startedAt: Date): string {
  const drill = (i: number) => drillSchedule(pace, startedAt, i);
  const keys = `${p.home}/keys`;
  return `# The demo's config, written by npm start (src/demo/config.ts) at ${startedAt.toISOString()}.
# Pace "${pace.name}": schedules of seconds so that everything happens while you watch.
# config/drd.example.yaml names every option with its default.
state_dir: ${p.home}/state
timezone: UTC

targets:
  local:
    type: local
    path: ${p.home}/backups
    retention: { keep_last: 20 }
  offsite:
    type: s3                      # the demo's S3-protocol server on loopback
    bucket: ${p.bucket}
    endpoint: ${p.s3Endpoint}
    access_key_id_file: ${p.home}/s3-access-key-id
    secret_access_key_file: ${p.home}/s3-secret-access-key
    retention: { keep_last: 20 }

# 3-2-1: production plus two verified copies, on two kinds of media, one of them offsite.
policy: { copies: 2, media: 2, offsite: 1 }

jobs:
  database:
    type: postgres
    connection: ${p.databaseUrl}
    schedule: "${everySeconds(pace.database.every)}"
    rpo: ${seconds(pace.database.rpo)}
    rto: ${seconds(pace.rto)}
    targets: [local, offsite]
    drill:
      schedule: "${drill(0)}"
      from: offsite               # proves the offsite copy restores
      connection: ${p.drillUrl}
      checks:
        - sql: "select count(*) = 1000 from customers"
  config:
    type: files
    paths: [${p.configDir}]
    schedule: "${everySeconds(pace.files.every)}"
    rpo: ${seconds(pace.files.rpo)}
    rto: ${seconds(pace.rto)}
    targets: [local, offsite]
    drill: { schedule: "${drill(1)}", from: local }
  certificates:
    type: files
    paths: [${p.certsDir}]
    encrypt: { recipients: [${keys}/backup-public.asc] }
    schedule: "${everySeconds(pace.files.every)}"
    rpo: ${seconds(pace.files.rpo)}
    rto: ${seconds(pace.rto)}
    targets: [local, offsite]
    drill:
      schedule: "${drill(2)}"
      from: offsite
      key_file: ${keys}/backup-secret.asc   # on a real server the private half stays off it
  cluster:
    type: postgres_cluster        # base backups, and the WAL streamed as it is written
    connection: ${p.clusterUrl}
    schedule: "${everySeconds(pace.files.every)}"
    rpo: ${seconds(pace.files.rpo)}   # the WAL's lag: what a restore to "latest" would lose
    rto: ${seconds(pace.rto)}
    targets: [local, offsite]
    drill:                        # restores the newest moment into a scratch cluster and starts it
      schedule: "${drill(3)}"
      from: offsite
      checks:
        - sql: "select count(*) = 1 from pg_database where datname = 'shop'"

signing: { key_file: ${keys}/signing-secret.asc }

alerts:
  - type: webhook
    name: demo-receiver           # the demo prints what it receives
    url: ${p.receiverUrl}
    timeout: 5s

metrics:
  listen: "127.0.0.1:${p.metricsPort}"
`;
}
