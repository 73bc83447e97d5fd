#!/usr/bin/env bash
# Benchmark: an encrypted `drctl backup` of a PostgreSQL database beside, in the same run,
#   (a) pg_dump -Fc -Z0 > /dev/null        the limit: pg_dump's own speed
#   (b) pg_dump -Fc | gpg --encrypt        the shell pipeline with built-in compression
#   (c) pg_dump | gzip                     the seed script's database line
# Reports wall time, peak RSS (largest single process, GNU time) and ratios drd/baseline.
#
# Usage: npm run bench [-- ROWS]   (default 3,500,000 rows: about 1.1 GB on disk)
# Data is mixed and realistic: words, numbers, timestamps, json, hashes; not pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-3500000}"
bash scripts/setup.sh >/dev/null

WORK=$(mktemp -d /tmp/drd-bench-XXXXXX)
chmod 755 "$WORK"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  gpgconf --homedir "$WORK/gnupg" --kill gpg-agent >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -m 700 "$WORK/pg" "$WORK/sock"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK/pg" "$WORK/sock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -l "$WORK/pg/log" -o "-p $PORT -k $WORK/sock -c listen_addresses=127.0.0.1 -c max_wal_size=4GB" start >/dev/null
URL="postgresql://postgres@127.0.0.1:$PORT/bench"
psql -XAtq -d "postgresql://postgres@127.0.0.1:$PORT/postgres" -c "CREATE DATABASE bench"

echo "generating $ROWS rows of mixed data..." >&2
psql -XAtq -v ON_ERROR_STOP=1 -d "$URL" <<SQL
CREATE TABLE hosts (id int PRIMARY KEY, fqdn text, os text, registered_at timestamptz, tags jsonb);
INSERT INTO hosts SELECT g, 'host-' || g || '.' || (ARRAY['eu','us','ap'])[1 + g % 3] || '.example.net',
  (ARRAY['Debian 12','Ubuntu 24.04','RHEL 9','FreeBSD 14','Windows Server 2022'])[1 + g % 5],
  now() - (g || ' hours')::interval, jsonb_build_object('rack', g % 40, 'env', (ARRAY['prod','staging','dev'])[1 + g % 3])
FROM generate_series(1, 5000) g;
CREATE TABLE events (id bigint, host_id int, at timestamptz, level text, message text, payload jsonb, digest text);
WITH w AS (SELECT string_to_array('the a disk service started stopped failed restarted update package kernel network interface timeout connection refused user login logout session certificate renewed expired agent heartbeat missed backup completed queue worker job retry scheduled memory cpu load high low warning error info debug port firewall rule added removed config reloaded database vacuum index rebuilt replica lag seconds bytes written read checksum verified mismatch host group policy applied denied allowed token issued revoked', ' ') AS a)
INSERT INTO events
SELECT g, 1 + (g::bigint * 7919) % 5000, now() - ((g % 31536000) || ' seconds')::interval,
  (ARRAY['info','info','info','warn','error','debug'])[1 + (random() * 5)::int],
  a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' ||
  a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' ||
  a[1 + (random() * 63)::int] || ' after ' || (random() * 10000)::int || ' ms',
  jsonb_build_object('pid', (random() * 65535)::int, 'unit', a[1 + (random() * 63)::int] || '.service', 'ok', random() > 0.1),
  md5(g::text)
FROM w, generate_series(1, $ROWS) g;
SQL
psql -XAtq -d "$URL" -c "VACUUM ANALYZE"
SIZE=$(psql -XAtq -d "$URL" -c "SELECT pg_database_size('bench')")
echo "database size: $((SIZE / 1024 / 1024)) MiB" >&2

export GNUPGHOME="$WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key 'drd bench <bench@example.invalid>' future-default default never 2>/dev/null
gpg --batch --armor --export bench@example.invalid > "$WORK/public.asc"

mkdir -m 700 "$WORK/out"
cat > "$WORK/drd.yaml" <<YAML
state_dir: $WORK/state
targets: { local: { type: local, path: $WORK/backups } }
policy: { copies: 1, media: 1, offsite: 0 }
jobs:
  bench:
    type: postgres
    connection: $URL
    globals: false
    schedule: "0 * * * *"
    rpo: 1h
    targets: [local]
    encrypt: { recipients: [$WORK/public.asc] }
YAML

# measure NAME COMMAND: prints "name wall_s rss_kib bytes"
measure() {
  local name=$1 cmd=$2 out
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -o "$WORK/time" -f '%e %M' bash -o pipefail -c "$cmd" >/dev/null 2>"$WORK/err" || { echo "$name failed:" >&2; cat "$WORK/err" >&2; exit 1; }
  out=$(tail -1 "$WORK/time")
  local bytes
  bytes=$(du -cb "$WORK/out" "$WORK/backups" 2>/dev/null | tail -1 | cut -f1)
  echo "$name $out $bytes"
  rm -rf "$WORK/out"/* "$WORK/backups"/* "$WORK/state"
}

results=$(
  measure "drd" "node bin/drctl.js --config $WORK/drd.yaml backup bench"
  measure "a" "pg_dump -Fc -Z0 -d '$URL' > /dev/null"
  measure "b" "pg_dump -Fc -d '$URL' | gpg --batch --trust-model always -e -r bench@example.invalid > $WORK/out/b.dump.gpg"
  measure "c" "pg_dump -d '$URL' | gzip > $WORK/out/c.sql.gz"
)
node - "$results" "$SIZE" <<'JS'
const [, , text, size] = process.argv;
const r = Object.fromEntries(text.trim().split("\n").map((l) => { const [n, wall, rss, bytes] = l.split(" "); return [n, { wall: +wall, rss: +rss, bytes: +bytes }]; }));
const names = { drd: "drctl backup (zstd -3, OpenPGP to a public key)", a: "(a) pg_dump -Fc -Z0 > /dev/null", b: "(b) pg_dump -Fc | gpg --encrypt", c: "(c) pg_dump | gzip" };
const mib = (b) => (b / 1048576).toFixed(0);
console.log(`database: ${mib(+size)} MiB on disk\n`);
console.log("| run | wall s | peak RSS MiB | output MiB | drd / this |");
console.log("|---|---:|---:|---:|---:|");
for (const k of ["drd", "a", "b", "c"]) {
  console.log(`| ${names[k]} | ${r[k].wall.toFixed(1)} | ${(r[k].rss / 1024).toFixed(0)} | ${k === "a" ? "-" : mib(r[k].bytes)} | ${k === "drd" ? "-" : (r.drd.wall / r[k].wall).toFixed(2) + "x"} |`);
}
console.log(`\ntargets: drd/(a) <= 1.5x: ${(r.drd.wall / r.a.wall).toFixed(2)}x; drd/(b) <= 0.35x: ${(r.drd.wall / r.b.wall).toFixed(2)}x; peak RSS < 200 MiB: ${(r.drd.rss / 1024).toFixed(0)} MiB`);
JS
