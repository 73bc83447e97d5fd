#!/usr/bin/env bash
# Benchmark of a cluster job beside pgBackRest (Debian's package, installed here when absent),
# on the same PostgreSQL cluster in the same run: both archive its WAL continuously (drd by
# streaming with pg_receivewal, pgBackRest by archive_command), both store on local disk
# with zstd level 1 and no encryption, pgBackRest with 2 processes.
#   base backup:   drctl backup CLUSTER_JOB  beside  pgbackrest backup --type=full
#   PITR restore:  drctl restore --at T into a new data directory, then start it until it
#                  accepts connections out of recovery, beside pgbackrest restore --type=time
#                  with the same start; and drd's logical restore of the same database
#                  (drctl restore of a pg_dump backup into a new database).
# ROUNDS interleaved runs of each (default 3): the fastest and every one; peak RSS is the
# largest single process (GNU time) in any run.
#
# Usage: npm run bench:pitr [-- ROWS]   (default 4,500,000 rows: about 1 GiB on disk)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-4500000}"
ROUNDS="${ROUNDS:-3}"
bash scripts/setup.sh >/dev/null

WORK=$(mktemp -d /tmp/drd-bench-pitr-XXXXXX)
chmod 755 "$WORK"
. scripts/bench-lib.sh
bench_need_pgbackrest
DAEMON=""
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  for d in "$WORK"/restored-*; do [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done
  bench_cleanup
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

bench_postgres "$ROWS"
CLUSTER_SIZE=$(psql -XAtq -d "$URL" -c "SELECT sum(pg_database_size(oid)) FROM pg_database")

# pgBackRest: its repository, archive_command, stanza.
bench_pgbackrest process-max=2 start-fast=y

# drd: a signing key, a cluster job streaming the WAL, and a logical job of the same database.
bench_cluster_config "$WORK/drd.yaml" "{ mode: stream }" "  bench:
    type: postgres
    connection: $URL
    globals: false
    schedule: '0 3 * * *'
    rpo: 1d
    targets: [local]
    compression: { algorithm: zstd, level: 1 }"
DRCTL="bin/drctl.js --config $WORK/drd.yaml"
$DRCTL daemon --allow-root > "$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do grep -q "receiving WAL" "$WORK/daemon.log" && break; sleep 0.2; done
grep -q "receiving WAL" "$WORK/daemon.log" || { echo "the daemon did not start streaming:" >&2; tail "$WORK/daemon.log" >&2; exit 1; }
# Its first start runs each job's backup missed since the schedule's last time: let those end.
for _ in $(seq 3000); do [ "$(grep -c '"reason":"catch-up"' "$WORK/daemon.log")" -ge 2 ] && break; sleep 0.2; done

# started DIR: starts a restored data directory on a spare port and waits until recovery
# ended (it accepts connections and is out of recovery); archive_mode off either way.
started() {
  local dir=$1 port
  port=$(free_port)
  as_pg "$PGBIN/pg_ctl" -D "$dir" -w -t 3600 -l "$dir/start.log" -o "-p $port -k $WORK/sock -c listen_addresses='' -c archive_mode=off" start >/dev/null
  until [ "$(psql -XAtq -h "$WORK/sock" -p "$port" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.1; done
  echo "$port" > "$dir.port"
}
# timed NAME COMMAND: prints "name wall_s rss_kib". Each starts with no dirty pages left by the
# one before (sync): else whichever runs after a 1 GiB write pays for its writeback.
timed() {
  sync
  /usr/bin/time -o "$WORK/time" -f '%e %M' bash -o pipefail -c "$2" >/dev/null 2>"$WORK/err" || { echo "$1 failed:" >&2; cat "$WORK/err" >&2; exit 1; }
  echo "$1 $(tail -1 "$WORK/time")"
}
export -f started as_pg free_port
export PGBIN WORK
psql -XAtq -d "$URL" -c "CHECKPOINT" >/dev/null
results=$(
  for round in $(seq "$ROUNDS"); do
    echo "base backup round $round of $ROUNDS" >&2
    timed b_drd "$DRCTL backup cluster"
    timed b_pgbr "as_pg $PGBR backup --type=full"
  done
)
# The point to restore to: a row before it, another after it, both archived by both tools;
# seconds after the last base backup (pgBackRest picks a backup that stopped a whole second before).
sleep 2
psql -XAtq -d "$URL" -c "CREATE TABLE markers (name text, at timestamptz DEFAULT clock_timestamp())" -c "INSERT INTO markers (name) VALUES ('before')"
T=$(psql -XAtq -d "$URL" -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 1.1
psql -XAtq -d "$URL" -c "INSERT INTO markers (name) VALUES ('after')"
LAST=$(psql -XAtq -d "$URL" -c "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 300); do [ -f "$WORK/backups/cluster/wal/$LAST.json" ] && break; sleep 0.2; done
[ -f "$WORK/backups/cluster/wal/$LAST.json" ] || { echo "drd did not archive $LAST" >&2; exit 1; }
as_pg $PGBR check >/dev/null
PGT="${T/T/ }"
PGT="${PGT/Z/+00}"

check_markers() {
  local dir=$1 got
  got=$(psql -XAtq -h "$WORK/sock" -p "$(cat "$dir.port")" -U postgres -d bench -c "SELECT string_agg(name, ',') FROM markers")
  [ "$got" = before ] || { echo "$dir: restored markers are '$got', not 'before'" >&2; exit 1; }
  as_pg "$PGBIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null
  rm -rf "$dir" "$dir.port"
}
$DRCTL backup bench --json > "$WORK/dump.json"
DUMP=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).id' "$WORK/dump.json")
results="$results
$(
  for round in $(seq "$ROUNDS"); do
    echo "restore round $round of $ROUNDS" >&2
    timed r_drd "$DRCTL restore cluster --at $T --to-dir $WORK/restored-drd && started $WORK/restored-drd"
    check_markers "$WORK/restored-drd"
    mkdir -m 700 "$WORK/restored-pgbr"
    [ "$(id -u)" -eq 0 ] && chown postgres "$WORK/restored-pgbr"
    timed r_pgbr "as_pg $PGBR restore --pg1-path=$WORK/restored-pgbr --type=time '--target=$PGT' --target-action=promote && started $WORK/restored-pgbr"
    check_markers "$WORK/restored-pgbr"
    timed r_logical "$DRCTL restore bench --backup $DUMP --to-db restored_logical"
    psql -XAtq -d "postgresql://postgres@127.0.0.1:$PORT/postgres" -c "DROP DATABASE restored_logical" >/dev/null
  done
)"
DRD_BYTES=$(du -sb "$WORK/backups/cluster" | cut -f1)
PGBR_BYTES=$(du -sb "$WORK/pgbr" | cut -f1)

node - "$results" "$CLUSTER_SIZE" "$ROUNDS" "$DRD_BYTES" "$PGBR_BYTES" <<'JS'
const [, , text, size, rounds, drdBytes, pgbrBytes] = process.argv;
const r = {};
for (const line of text.trim().split("\n")) {
  const [n, wall, rss] = line.split(" ");
  const best = r[n];
  r[n] = !best ? { wall: +wall, rss: +rss, walls: [+wall] } : { wall: Math.min(best.wall, +wall), rss: Math.max(best.rss, +rss), walls: [...best.walls, +wall] };
}
const mib = (b) => (b / 1048576).toFixed(0);
const row = (k, what) => `| ${what} | ${r[k].wall.toFixed(1)} | ${r[k].walls.map((w) => w.toFixed(1)).join(", ")} | ${(r[k].rss / 1024).toFixed(0)} |`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ratio = (a, b) => `${(r[a].wall / r[b].wall).toFixed(2)}x (best runs); per round ${r[a].walls.map((w, i) => (w / r[b].walls[i]).toFixed(2) + "x").join(", ")}, median ${median(r[a].walls.map((w, i) => w / r[b].walls[i])).toFixed(2)}x`;
console.log(`cluster: ${mib(+size)} MiB of databases; ${rounds} rounds; stored after the run: drd ${mib(+drdBytes)} MiB, pgBackRest ${mib(+pgbrBytes)} MiB (every base backup and the WAL)\n`);
console.log("| run | wall s (best) | every run | peak RSS MiB |");
console.log("|---|---:|---|---:|");
console.log(row("b_drd", "drctl backup (postgres_cluster: pg_basebackup -Ft -X none, zstd -1)"));
console.log(row("b_pgbr", "pgbackrest backup --type=full (process-max 2, zst level 1)"));
console.log(row("r_drd", "drctl restore --at T, then start until out of recovery"));
console.log(row("r_pgbr", "pgbackrest restore --type=time, then the same start"));
console.log(row("r_logical", "drctl restore of a pg_dump backup of the same database (logical)"));
console.log(`\nbase backup, drd / pgBackRest (target <= 1.0x): ${ratio("b_drd", "b_pgbr")}`);
console.log(`restore to a time until connections, drd / pgBackRest (target <= 1.0x): ${ratio("r_drd", "r_pgbr")}`);
console.log(`drd's physical restore / its logical restore: ${ratio("r_drd", "r_logical")}`);
console.log(`peak RSS (target < 200 MiB): backup ${(r.b_drd.rss / 1024).toFixed(0)} MiB, restore ${(r.r_drd.rss / 1024).toFixed(0)} MiB`);
JS
