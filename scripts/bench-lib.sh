# Shared set-up of the benchmarks (sourced): a throwaway PostgreSQL cluster filled with mixed
# rows, a GnuPG key pair, and an s3rver process. Each function records what cleanup removes.
# Needs WORK (a scratch directory) set by the caller.

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# bench_postgres ROWS: starts a cluster in $WORK/pg and creates database `bench` with ROWS
# rows of words, numbers, timestamps, json and hashes (not pgbench). Sets PORT, URL, SIZE.
bench_postgres() {
  local rows=$1
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PORT=$(free_port)
  mkdir -m 700 "$WORK/pg" "$WORK/sock"
  [ "$(id -u)" -eq 0 ] && chown postgres "$WORK/pg" "$WORK/sock"
  as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -l "$WORK/pg/log" -o "-p $PORT -k $WORK/sock -c listen_addresses=127.0.0.1 -c max_wal_size=4GB" start >/dev/null
  URL="postgresql://postgres@127.0.0.1:$PORT/bench"
  psql -XAtq -d "postgresql://postgres@127.0.0.1:$PORT/postgres" -c "CREATE DATABASE bench"
  echo "generating $rows rows of mixed data..." >&2
  psql -XAtq -v ON_ERROR_STOP=1 -v rows="$rows" -d "$URL" -f scripts/bench-data.sql
  psql -XAtq -d "$URL" -c "VACUUM ANALYZE"
  SIZE=$(psql -XAtq -d "$URL" -c "SELECT pg_database_size('bench')")
  echo "database size: $((SIZE / 1024 / 1024)) MiB" >&2
}

# bench_gpg: a key pair in $WORK/gnupg; $WORK/public.asc and $WORK/secret.asc.
bench_gpg() {
  export GNUPGHOME="$WORK/gnupg"
  mkdir -m 700 "$GNUPGHOME"
  gpg --batch --passphrase '' --quick-gen-key 'drd bench <bench@example.invalid>' future-default default never 2>/dev/null
  gpg --batch --armor --export bench@example.invalid > "$WORK/public.asc"
  gpg --batch --armor --pinentry-mode loopback --passphrase '' --export-secret-keys bench@example.invalid > "$WORK/secret.asc"
}

# bench_s3rver ADDRESS PORT [COMMAND PREFIX...]: s3rver in its own process (under the prefix,
# e.g. `ip netns exec NS`) storing in $WORK/s3, bucket drd-bench, credentials in
# $WORK/s3-key. Its CompleteMultipartUpload re-reads, re-hashes and rewrites the whole
# object after the last part while the client waits (a real S3 answers at once): each
# one's duration is logged to $WORK/s3-complete.log. Sets S3PID.
bench_s3rver() {
  local address=$1 port=$2
  shift 2
  "$@" node --input-type=module -e "
    import S3rver from 's3rver';
    import FilesystemStore from 's3rver/lib/stores/filesystem.js';
    import { appendFileSync } from 'node:fs';
    const complete = FilesystemStore.prototype.putObjectMultipart;
    FilesystemStore.prototype.putObjectMultipart = async function (...args) {
      const t0 = Date.now();
      try { return await complete.apply(this, args); } finally { appendFileSync('$WORK/s3-complete.log', (Date.now() - t0) + '\\n'); }
    };
    import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    await new S3rver({ port: $port, address: '$address', silent: true, directory: '$WORK/s3' }).run();
    const c = new S3Client({ endpoint: 'http://$address:$port', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await c.send(new CreateBucketCommand({ Bucket: 'drd-bench' }));
    console.log('ready');
  " > "$WORK/s3.log" 2>&1 &
  S3PID=$!
  for _ in $(seq 100); do grep -q ready "$WORK/s3.log" 2>/dev/null && break; sleep 0.2; done
  grep -q ready "$WORK/s3.log" || { echo "s3rver did not start:" >&2; cat "$WORK/s3.log" >&2; return 1; }
  echo S3RVER > "$WORK/s3-key"
}

# CPU seconds s3rver has used, and the seconds it spent completing multipart uploads.
s3_cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$S3PID/stat"; }
s3_complete() { awk '{ s += $1 } END { printf "%.2f", s / 1000 }' "$WORK/s3-complete.log" 2>/dev/null || echo 0; }

# bench_need_pgbackrest: installs Debian's pgbackrest when it is absent (as root), else stops.
bench_need_pgbackrest() {
  command -v pgbackrest >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || { echo "pgbackrest is not installed: apt-get install pgbackrest" >&2; exit 1; }
  echo "installing pgbackrest from Debian..." >&2
  timeout 600 apt-get install -y -qq pgbackrest >/dev/null 2>&1 || { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq pgbackrest >/dev/null; }
}

# bench_pgbackrest [GLOBAL-OPTION...]: pgBackRest's repository in $WORK/pgbr, zstd level 1,
# stanza `bench` on the cluster of bench_postgres, which now archives with archive-push
# (a restart). Sets PGBR (the command, as its user runs it).
bench_pgbackrest() {
  mkdir -m 700 "$WORK/pgbr" "$WORK/pgbr-log" "$WORK/pgbr-lock" "$WORK/pgbr-spool"
  {
    echo "[global]"
    echo "repo1-path=$WORK/pgbr"
    for option in "$@"; do echo "$option"; done
    cat <<CONF
compress-type=zst
compress-level=1
log-path=$WORK/pgbr-log
lock-path=$WORK/pgbr-lock
spool-path=$WORK/pgbr-spool
log-level-console=warn
log-level-file=off

[bench]
pg1-path=$WORK/pg
pg1-port=$PORT
pg1-socket-path=$WORK/sock
CONF
  } > "$WORK/pgbackrest.conf"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK/pgbr" "$WORK/pgbr-log" "$WORK/pgbr-lock" "$WORK/pgbr-spool" "$WORK/pgbackrest.conf"
  PGBR="pgbackrest --config=$WORK/pgbackrest.conf --stanza=bench"
  psql -XAtq -d "$URL" -c "ALTER SYSTEM SET archive_mode = on" -c "ALTER SYSTEM SET archive_command = '$PGBR archive-push %p'"
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -m fast restart -l "$WORK/pg/log" >/dev/null
  as_pg $PGBR stanza-create >/dev/null
  as_pg $PGBR check >/dev/null
}

# bench_cluster_config FILE WAL [MORE-JOBS]: drd's config for the cluster of bench_postgres:
# a signing key pair in $WORK/keys (made once), the local target, the job `cluster` with
# `wal: WAL`, zstd level 1, and MORE-JOBS (YAML lines under jobs:).
bench_cluster_config() {
  [ -f "$WORK/keys/signing-secret.asc" ] || bin/drctl.js keys init --dir "$WORK/keys" >/dev/null
  cat > "$1" <<YAML
state_dir: $WORK/state
signing: { key_file: $WORK/keys/signing-secret.asc }
trust: [$WORK/keys/signing-public.asc]
targets:
  local: { type: local, path: $WORK/backups }
policy: { copies: 1, media: 1, offsite: 0 }
jobs:
  cluster:
    type: postgres_cluster
    connection: postgresql://postgres@127.0.0.1:$PORT/postgres
    schedule: "0 3 * * *"
    rpo: 1h
    targets: [local]
    compression: { algorithm: zstd, level: 1 }
    wal: $2
${3:-}
YAML
}

bench_cleanup() {
  [ -n "${S3PID:-}" ] && kill "$S3PID" 2>/dev/null || true
  [ -n "${PGBIN:-}" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  gpgconf --homedir "$WORK/gnupg" --kill gpg-agent >/dev/null 2>&1 || true
}

# bench_config FILE ENDPOINT TARGETS POLICY: the benchmarks' encrypted database job, local
# only or local + s3 (the store at ENDPOINT).
bench_config() {
  cat > "$1" <<YAML
state_dir: $WORK/state
targets:
  local: { type: local, path: $WORK/backups }
  offsite: { type: s3, bucket: drd-bench, endpoint: "$2", access_key_id_file: $WORK/s3-key, secret_access_key_file: $WORK/s3-key }
policy: $4
jobs:
  bench:
    type: postgres
    connection: $URL
    globals: false
    schedule: "0 * * * *"
    rpo: 1h
    targets: $3
    encrypt: { recipients: [$WORK/public.asc] }
YAML
}
