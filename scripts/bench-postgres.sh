#!/usr/bin/env bash
# Benchmark of backup and restore of a PostgreSQL database, each beside stock tools in the same run.
# Backup: an encrypted `drctl backup` beside
#   (a) pg_dump -Fc -Z0 > /dev/null        the limit: pg_dump's own speed
#   (b) pg_dump -Fc | gpg --encrypt        the shell pipeline with built-in compression
#   (c) pg_dump | gzip                     the seed script's database line
# Restore: `drctl restore --from offsite` (s3rver on loopback), with one session and with
#   --jobs 2, beside the same steps with stock tools: download the object, gpg --decrypt,
#   zstd -d | pg_restore into a new database; and the stock parallel way, zstd -d to a file
#   and pg_restore -j 2 (it needs a seekable file).
# Reports wall time (ROUNDS interleaved runs, default 5: the fastest and every one), peak RSS
# (largest single process, GNU time, the largest of any run) and ratios drd/baseline read
# two ways: between the fastest runs, and within each round (median of the rounds).
#
# Usage: npm run bench [-- ROWS]   (default 4,500,000 rows: about 1 GiB on disk)
# Data is mixed and realistic: words, numbers, timestamps, json, hashes; not pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-4500000}"
bash scripts/setup.sh >/dev/null

WORK=$(mktemp -d /tmp/drd-bench-XXXXXX)
chmod 755 "$WORK"
. scripts/bench-lib.sh
cleanup() {
  bench_cleanup
  rm -rf "$WORK"
}
trap cleanup EXIT

bench_postgres "$ROWS"
bench_gpg
# An S3-protocol server on loopback for the local+s3 run.
S3PORT=$(free_port)
bench_s3rver 127.0.0.1 "$S3PORT"

mkdir -m 700 "$WORK/out"
bench_config "$WORK/drd.yaml" "http://127.0.0.1:$S3PORT" "[local]" "{ copies: 1, media: 1, offsite: 0 }"
bench_config "$WORK/drd-s3.yaml" "http://127.0.0.1:$S3PORT" "[local, offsite]" "{ copies: 2, media: 2, offsite: 1 }"

ROUNDS="${ROUNDS:-5}"
# run_once NAME COMMAND [DB]: prints "name wall_s rss_kib bytes s3rver_cpu_s". The runs of
# all commands are interleaved, round after round, so a slow spell of a shared machine
# hits every command alike; the report takes each command's fastest run and largest RSS.
run_once() {
  local name=$1 cmd=$2 before out bytes completing
  before=$(s3_cpu)
  completing=$(s3_complete)
  /usr/bin/time -o "$WORK/time" -f '%e %M' bash -o pipefail -c "$cmd" >/dev/null 2>"$WORK/err" || { echo "$name failed:" >&2; cat "$WORK/err" >&2; exit 1; }
  out=$(tail -1 "$WORK/time")
  bytes=$(du -cb "$WORK/out" "$WORK/backups" 2>/dev/null | tail -1 | cut -f1)
  rm -rf "$WORK/out"/* "$WORK/backups"/* "$WORK/state" "$WORK/s3/drd-bench"/*
  echo "$name $out $bytes $(awk "BEGIN{print $(s3_cpu) - $before}") $(awk "BEGIN{print $(s3_complete) - $completing}")"
}

pg_dump -Fc -Z0 -d "$URL" > /dev/null   # warm-up: page cache and hint bits
results=$(
  for round in $(seq "$ROUNDS"); do
    echo "backup round $round of $ROUNDS" >&2
    run_once "drd" "bin/drctl.js --config $WORK/drd.yaml backup bench"
    run_once "s3" "bin/drctl.js --config $WORK/drd-s3.yaml backup bench"
    run_once "a" "pg_dump -Fc -Z0 -d '$URL' > /dev/null"
    run_once "b" "pg_dump -Fc -d '$URL' | gpg --batch --trust-model always -e -r bench@example.invalid > $WORK/out/b.dump.gpg"
    run_once "c" "pg_dump -d '$URL' | gzip > $WORK/out/c.sql.gz"
  done
)
# Restore: one backup to local + s3, then drd and the stock steps in turns, each into a fresh database.
bin/drctl.js --config "$WORK/drd-s3.yaml" backup bench --json > "$WORK/backup.json"
BID=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).id' "$WORK/backup.json")
OBJ="http://127.0.0.1:$S3PORT/drd-bench/bench/$BID/bench.dump.zst.gpg"
n=0
restore_once() {
  local name=$1 cmd=$2 out
  n=$((n + 1))
  local db="restored_$n"
  /usr/bin/time -o "$WORK/time" -f '%e %M' bash -o pipefail -c "${cmd//@DB@/$db}" >/dev/null 2>"$WORK/err" || { echo "$name failed:" >&2; cat "$WORK/err" >&2; exit 1; }
  out=$(tail -1 "$WORK/time")
  [ "$(psql -XAtq -d "postgresql://postgres@127.0.0.1:$PORT/$db" -c 'SELECT count(*) FROM events')" = "$ROWS" ] || { echo "$name: wrong row count" >&2; exit 1; }
  psql -XAtq -d "postgresql://postgres@127.0.0.1:$PORT/postgres" -c "DROP DATABASE $db" >/dev/null
  rm -f "$WORK/out"/*
  echo "$name $out 0 0"
}
results="$results
$(
  for round in $(seq "$ROUNDS"); do
    echo "restore round $round of $ROUNDS" >&2
    restore_once "r_drd" "bin/drctl.js --config $WORK/drd-s3.yaml restore bench --from offsite --backup $BID --to-db @DB@ --key $WORK/secret.asc"
    restore_once "r_stock" "curl -sf -o $WORK/out/dump.zst.gpg '$OBJ' && gpg --batch --decrypt $WORK/out/dump.zst.gpg > $WORK/out/dump.zst && psql -XAtq -d postgresql://postgres@127.0.0.1:$PORT/postgres -c 'CREATE DATABASE @DB@' && zstd -dc $WORK/out/dump.zst | pg_restore -d postgresql://postgres@127.0.0.1:$PORT/@DB@"
    restore_once "r_drd_j2" "bin/drctl.js --config $WORK/drd-s3.yaml restore bench --from offsite --backup $BID --to-db @DB@ --key $WORK/secret.asc --jobs 2"
    restore_once "r_stock_j2" "curl -sf -o $WORK/out/dump.zst.gpg '$OBJ' && gpg --batch --decrypt $WORK/out/dump.zst.gpg > $WORK/out/dump.zst && psql -XAtq -d postgresql://postgres@127.0.0.1:$PORT/postgres -c 'CREATE DATABASE @DB@' && zstd -dq $WORK/out/dump.zst -o $WORK/out/dump && pg_restore -j 2 -d postgresql://postgres@127.0.0.1:$PORT/@DB@ $WORK/out/dump"
  done
)"

node - "$results" "$SIZE" <<'JS'
const [, , text, size] = process.argv;
const r = {};
for (const line of text.trim().split("\n")) {
  const [n, wall, rss, bytes, s3cpu, s3complete] = line.split(" ");
  const run = { wall: +wall, rss: +rss, bytes: +bytes, s3cpu: +s3cpu, s3complete: +(s3complete ?? 0) };
  const best = r[n];
  // The fastest run of each command, with the largest RSS seen in any of its runs.
  r[n] = !best ? { ...run, walls: [run.wall] } : { ...(run.wall < best.wall ? run : best), rss: Math.max(best.rss, run.rss), walls: [...best.walls, run.wall] };
}
const names = { s3: "drctl backup to local + s3 (s3rver on loopback)", drd: "drctl backup (zstd -1, OpenPGP to a public key)", a: "(a) pg_dump -Fc -Z0 > /dev/null", b: "(b) pg_dump -Fc \\| gpg --encrypt", c: "(c) pg_dump \\| gzip" };
const mib = (b) => (b / 1048576).toFixed(0);
console.log(`database: ${mib(+size)} MiB on disk\n`);
const all = (k) => r[k].walls.map((w) => w.toFixed(1)).join(", ");
console.log("| run | wall s (best) | every run | peak RSS MiB | output MiB | drd / this |");
console.log("|---|---:|---|---:|---:|---:|");
for (const k of ["drd", "s3", "a", "b", "c"]) {
  console.log(`| ${names[k]} | ${r[k].wall.toFixed(1)} | ${all(k)} | ${(r[k].rss / 1024).toFixed(0)} | ${k === "a" ? "-" : mib(r[k].bytes)} | ${k === "drd" ? "-" : (r.drd.wall / r[k].wall).toFixed(2) + "x"} |`);
}
console.log("\n| restore from s3 | wall s (best) | every run | peak RSS MiB | drd / this |");
console.log("|---|---:|---|---:|---:|");
console.log(`| drctl restore --from offsite (download + sha256 per piece, decrypt, pg_restore, row counts) | ${r.r_drd.wall.toFixed(1)} | ${all("r_drd")} | ${(r.r_drd.rss / 1024).toFixed(0)} | - |`);
console.log(`| stock: curl, gpg --decrypt, zstd -d \\| pg_restore | ${r.r_stock.wall.toFixed(1)} | ${all("r_stock")} | ${(r.r_stock.rss / 1024).toFixed(0)} | ${(r.r_drd.wall / r.r_stock.wall).toFixed(2)}x |`);
console.log(`| drctl restore --from offsite --jobs 2 (rows divided between two sessions) | ${r.r_drd_j2.wall.toFixed(1)} | ${all("r_drd_j2")} | ${(r.r_drd_j2.rss / 1024).toFixed(0)} | - |`);
console.log(`| stock, parallel: curl, gpg --decrypt, zstd -d to a file, pg_restore -j 2 | ${r.r_stock_j2.wall.toFixed(1)} | ${all("r_stock_j2")} | ${(r.r_stock_j2.rss / 1024).toFixed(0)} | ${(r.r_drd_j2.wall / r.r_stock_j2.wall).toFixed(2)}x (--jobs 2) |`);
// Two readings of each ratio: the fastest runs of the two commands, and the ratio within
// each round (runs minutes apart, so closer in time), of which the median is given.
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
const ratio = (x, y) => {
  const rounds = r[x].walls.map((w, i) => w / r[y].walls[i]);
  return { best: r[x].wall / r[y].wall, median: median(rounds), rounds };
};
const show = (q, pct = false) => {
  const f = (v) => (pct ? `${((v - 1) * 100).toFixed(0)}%` : `${v.toFixed(2)}x`);
  return `${f(q.best)} (best runs); per round ${q.rounds.map(f).join(", ")}, median ${f(q.median)}`;
};
console.log(`\nrestore, drd / stock (target <= 1.0x): ${show(ratio("r_drd", "r_stock"))}; peak RSS (target < 200 MiB): ${(r.r_drd.rss / 1024).toFixed(0)} MiB`);
console.log(`restore, drd --jobs 2 / stock: ${show(ratio("r_drd_j2", "r_stock"))}; / stock pg_restore -j 2: ${show(ratio("r_drd_j2", "r_stock_j2"))}; peak RSS ${(r.r_drd_j2.rss / 1024).toFixed(0)} MiB`);
console.log(`\nbackup, drd / (a) (target <= 1.5x): ${show(ratio("drd", "a"))}`);
console.log(`backup, drd / (b) (target <= 0.35x): ${show(ratio("drd", "b"))}`);
console.log(`backup peak RSS (target < 200 MiB): ${(r.drd.rss / 1024).toFixed(0)} MiB; with the s3 copy: ${(r.s3.rss / 1024).toFixed(0)} MiB`);
console.log(`what the s3 copy adds to the local-only backup (target: under 20%): ${show(ratio("s3", "drd"), true)}; s3rver itself used ${r.s3.s3cpu.toFixed(1)} CPU-s of the same 2 cores in the fastest run, ${r.s3.s3complete.toFixed(1)} s of it completing the multipart upload after the last part`);
JS
