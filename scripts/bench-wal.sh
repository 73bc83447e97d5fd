#!/usr/bin/env bash
# Benchmark of WAL archiving under load, drd beside pgBackRest (Debian's package, installed
# here when absent), on one PostgreSQL cluster in one run, local target, zstd level 1, no
# encryption, in two phases of `pgbench -c 4 -j 2 -T SECONDS` each:
#   1. drd's stream mode (pg_receivewal + slot) and pgBackRest's archive-push (the server's
#      archive_command), both archiving the same WAL under the same load;
#   2. drd's archive mode (archive_command = drctl wal push), after a reload of the daemon.
# Reports per phase: the WAL produced (segments per second), what each tool stored, the
# backlog when the load ended, each segment's lag (from the server's WAL passing its end to
# the stored object) at most and at the median, CPU seconds per GiB of WAL (drd: the daemon
# with its children and pg_receivewal, or the drctl wal push processes; pgBackRest: its
# archive-push processes), and drd's peak RSS.
#
# Usage: npm run bench:wal [-- SECONDS]   (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_PHASE="${1:-120}"
bash scripts/setup.sh >/dev/null

WORK=$(mktemp -d /tmp/drd-bench-wal-XXXXXX)
chmod 755 "$WORK"
. scripts/bench-lib.sh
bench_need_pgbackrest
DAEMON=""
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  bench_cleanup
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

bench_postgres 1000
echo "pgbench -i -s 20..." >&2
pgbench -i -q -s 20 "$URL" >/dev/null 2>&1

bench_pgbackrest

# drd: the socket's directory is the server's group's, setgid (as install.sh makes /run/drd/wal).
mkdir -p "$WORK/run/wal"
[ "$(id -u)" -eq 0 ] && chgrp postgres "$WORK/run/wal"
chmod 2750 "$WORK/run/wal"
config() { bench_cluster_config "$WORK/drd.yaml" "$1"; }
config "{ mode: stream }"
bin/drctl.js --config "$WORK/drd.yaml" daemon --allow-root > "$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do grep -q "receiving WAL" "$WORK/daemon.log" && break; sleep 0.2; done
grep -q "receiving WAL" "$WORK/daemon.log" || { echo "the daemon did not start streaming:" >&2; tail "$WORK/daemon.log" >&2; exit 1; }
for _ in $(seq 3000); do grep -q '"reason":"catch-up"' "$WORK/daemon.log" && break; sleep 0.2; done
RECEIVER=$(pgrep -f "pg_receivewal --directory $WORK/state/wal/cluster" | head -1)
SEG=$(psql -XAtq -d "$URL" -c "SELECT pg_size_bytes(current_setting('wal_segment_size'))")
PGBR_ARCHIVE="$WORK/pgbr/archive/bench"

echo "phase 1: drd stream mode beside pgBackRest archive-push, pgbench ${SECONDS_PER_PHASE} s..." >&2
phase1=$(node scripts/bench-wal-phase.mjs "{\"url\":\"$URL\",\"seconds\":$SECONDS_PER_PHASE,\"segmentSize\":$SEG,\"tools\":{
  \"drd stream\":{\"dir\":\"$WORK/backups/cluster/wal\",\"pattern\":\"^([0-9A-F]{24})\\\\.json\$\",\"pids\":[$DAEMON,$RECEIVER],\"archiver\":false},
  \"pgBackRest archive-push\":{\"dir\":\"$PGBR_ARCHIVE\",\"pattern\":\"^([0-9A-F]{24})-[0-9a-f]{40}\\\\.zst\$\",\"pids\":[],\"archiver\":true}}}")

# Phase 2: the job in archive mode (a reload), and the server's archive_command drd's.
config "{ mode: archive, socket: $WORK/run/wal/cluster.sock }"
kill -HUP "$DAEMON"
for _ in $(seq 100); do grep -q "receiving WAL from archive_command" "$WORK/daemon.log" && break; sleep 0.2; done
grep -q "receiving WAL from archive_command" "$WORK/daemon.log" || { echo "the daemon did not switch to archive mode:" >&2; tail "$WORK/daemon.log" >&2; exit 1; }
psql -XAtq -d "$URL" -c "ALTER SYSTEM SET archive_command = '$(command -v node) $PWD/bin/drctl.js wal push cluster %p --socket $WORK/run/wal/cluster.sock'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 2
echo "phase 2: drd archive mode (drctl wal push), pgbench ${SECONDS_PER_PHASE} s..." >&2
phase2=$(node scripts/bench-wal-phase.mjs "{\"url\":\"$URL\",\"seconds\":$SECONDS_PER_PHASE,\"segmentSize\":$SEG,\"tools\":{
  \"drd archive\":{\"dir\":\"$WORK/backups/cluster/wal\",\"pattern\":\"^([0-9A-F]{24})\\\\.json\$\",\"pids\":[$DAEMON],\"archiver\":true}}}")
FAILED=$(psql -XAtq -d "$URL" -c "SELECT failed_count FROM pg_stat_archiver")
# The push client's own peak RSS, once.
LASTSEG=$(ls "$WORK/pg/pg_wal" | grep -E '^[0-9A-F]{24}$' | sort | head -1)
PUSH_RSS=$( { as_pg /usr/bin/time -f '%M' "$(command -v node)" "$PWD/bin/drctl.js" wal push cluster "$WORK/pg/pg_wal/$LASTSEG" --socket "$WORK/run/wal/cluster.sock" >/dev/null; } 2>&1 | tail -1)

node - "$phase1" "$phase2" "$FAILED" "$PUSH_RSS" <<'JS'
const [, , p1, p2, failed, pushRss] = process.argv;
const phases = [["1", JSON.parse(p1)], ["2", JSON.parse(p2)]];
const f = (x, d = 1) => (x === null || x === undefined ? "-" : x.toFixed(d));
for (const [n, p] of phases)
  console.log(`phase ${n}: ${f(p.seconds, 0)} s of pgbench -c 4 (${f(p.tps, 0)} tps), ${f(p.wal_mib, 0)} MiB of WAL, ${p.segments_produced} segments, ${f(p.segments_per_s, 2)} segments/s; drd peak RSS ${f(p.drd_peak_rss_mib, 0)} MiB`);
console.log("\n| phase | tool | segments stored | backlog when the load ended | lag max s | lag median s | CPU s | CPU s per GiB of WAL |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const [n, p] of phases)
  for (const [tool, t] of Object.entries(p.tools))
    console.log(`| ${n} | ${tool} | ${t.archived} of ${p.segments_produced}${t.missing.length ? ` (missing ${t.missing.join(" ")})` : ""} | ${t.backlog_at_load_end} | ${f(t.max_lag_s)} | ${f(t.median_lag_s)} | ${f(t.cpu_s)} | ${f(t.cpu_s_per_gib)} |`);
const s = phases[0][1].tools["drd stream"], b = phases[0][1].tools["pgBackRest archive-push"], a = phases[1][1].tools["drd archive"];
console.log(`\nCPU per GiB, drd / pgBackRest: stream mode ${(s.cpu_s_per_gib / b.cpu_s_per_gib).toFixed(2)}x, archive mode ${(a.cpu_s_per_gib / b.cpu_s_per_gib).toFixed(2)}x (archive mode measured in its own phase)`);
console.log(`largest lag (target under 10 s in stream mode): stream ${f(s.max_lag_s)} s, archive ${f(a.max_lag_s)} s, pgBackRest ${f(b.max_lag_s)} s`);
console.log(`drd's CPU s by process: stream mode daemon (with its zstd children) ${s.cpu_s_by_process.map((x) => x.toFixed(1)).join(", pg_receivewal ")}; archive mode daemon ${a.cpu_s_by_process.map((x) => x.toFixed(1)).join(", drctl wal push processes ")}`);
console.log(`archive_command failures in the server's pg_stat_archiver: ${failed}; drctl wal push peak RSS ${(Number(pushRss) / 1024).toFixed(0)} MiB`);
JS
