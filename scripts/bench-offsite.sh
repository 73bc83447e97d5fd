#!/usr/bin/env bash
# Benchmark of the offsite copy over a link of a set rate: the S3 store (s3rver) runs in its
# own network namespace, reached over a veth pair shaped with tc tbf in both directions, so
# the upload crosses a real (if local) network path at RATE Mbit/s instead of loopback.
# In one run, round after round (interleaved, so a slow spell hits every command alike):
#   tcp      the artifact's bytes over one plain TCP connection (what the link carries at best)
#   local    drctl backup, local only                       (the dump's own pace)
#   s3       drctl backup, local + S3 at once               (what is measured)
#   aws      aws s3 cp of the same artifact over the same link  (the stock upload)
#   seq      drctl backup local only, then aws s3 sync      (the old script's way: one after the other)
# For each: wall seconds, CPU seconds (the command and its children), peak RSS of its largest
# process, and for drctl its own CPU seconds (its process alone, without pg_dump and zstd).
# The link's limit is the artifact's bytes over the rate; drd's CPU per GiB sent is what the
# S3 copy adds to drd's own CPU, round by round (local + S3 minus local only), against the
# aws CLI's CPU for the same bytes.
#
# Usage (as root: namespaces and tc): npm run bench:offsite [-- RATE_MBIT|loopback [ROWS]]
#   RATE_MBIT default 200; `loopback` runs the store on 127.0.0.1 unshaped, for comparison.
#   ROWS default 4,500,000 (about 1.1 GB on disk). ROUNDS=3 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${1:-200}"
ROWS="${2:-4500000}"
ROUNDS="${ROUNDS:-3}"
[ "$(id -u)" -eq 0 ] || { echo "bench-offsite: run as root (it makes a network namespace and shapes a link)" >&2; exit 2; }
bash scripts/setup.sh >/dev/null
if ! command -v aws >/dev/null; then
  echo "bench-offsite: installing Debian's awscli for the baseline" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli >/dev/null
fi

WORK=$(mktemp -d /tmp/drd-bench-offsite-XXXXXX)
chmod 755 "$WORK"
. scripts/bench-lib.sh
NS="drd-bench-$$"
HOST_IF="drdb$$h"
STORE_IF="drdb$$s"
cleanup() {
  [ -n "${SINKPID:-}" ] && kill "$SINKPID" 2>/dev/null || true
  bench_cleanup
  ip netns del "$NS" 2>/dev/null || true
  ip link del "$HOST_IF" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

S3PORT=$(free_port)
if [ "$RATE" = loopback ]; then
  STORE=127.0.0.1
  bench_s3rver "$STORE" "$S3PORT"
  LINK="loopback (unshaped)"
else
  # A /30 of 10.231/16 picked by pid, so two runs do not collide.
  net=$(( $$ % 250 + 1 ))
  HOST_ADDR="10.231.$net.1"
  STORE="10.231.$net.2"
  ip netns add "$NS"
  ip link add "$HOST_IF" type veth peer name "$STORE_IF"
  ip link set "$STORE_IF" netns "$NS"
  ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip netns exec "$NS" ip addr add "$STORE/30" dev "$STORE_IF"
  ip netns exec "$NS" ip link set "$STORE_IF" up
  ip netns exec "$NS" ip link set lo up
  # tbf each way (this kernel has no netem: no added latency). The burst covers a timer tick at this rate.
  tc qdisc add dev "$HOST_IF" root tbf rate "${RATE}mbit" burst 256kb latency 50ms
  ip netns exec "$NS" tc qdisc add dev "$STORE_IF" root tbf rate "${RATE}mbit" burst 256kb latency 50ms
  bench_s3rver "$STORE" "$S3PORT" ip netns exec "$NS"
  LINK="${RATE} Mbit/s each way (tc tbf on a veth pair into namespace $NS)"
fi
echo "store: s3rver at http://$STORE:$S3PORT; link: $LINK" >&2

bench_postgres "$ROWS"
bench_gpg

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$WORK/aws-config"
printf '[default]\ns3 =\n  addressing_style = path\n' > "$AWS_CONFIG_FILE"
AWS=(aws --endpoint-url "http://$STORE:$S3PORT")

bench_config "$WORK/local.yaml" "http://$STORE:$S3PORT" "[local]" "{ copies: 1, media: 1, offsite: 0 }"
bench_config "$WORK/s3.yaml" "http://$STORE:$S3PORT" "[local, offsite]" "{ copies: 2, media: 2, offsite: 1 }"

# The artifact the aws CLI uploads: one drd backup's, kept aside. The catalog stays from
# here on, as on a server where the job ran before: every timed backup knows the artifact's
# size last time, from which the S3 writer starts its upload at once and sends its parts as
# they fill (a job's very first backup cuts each part before sending it).
pg_dump -Fc -Z0 -d "$URL" > /dev/null   # warm-up: page cache and hint bits
bin/drctl.js --config "$WORK/local.yaml" backup bench >/dev/null
mkdir -p "$WORK/artifact"
mv "$(find "$WORK/backups" -name '*.dump.zst.gpg')" "$WORK/artifact/bench.dump.zst.gpg"
ARTIFACT_BYTES=$(stat -c %s "$WORK/artifact/bench.dump.zst.gpg")
rm -rf "$WORK/backups"

# The link's own pace: the artifact's bytes over one plain TCP connection to a sink beside
# the store (no HTTP, no hashing), done when the sink has read the last byte and closed.
SINKPORT=$(free_port)
SINK_JS="require('net').createServer((s) => { s.resume(); s.on('end', () => s.end()); }).listen($SINKPORT, '$STORE', () => console.log('ready'))"
if [ "$RATE" = loopback ]; then node -e "$SINK_JS" > "$WORK/sink.log" 2>&1 & else ip netns exec "$NS" node -e "$SINK_JS" > "$WORK/sink.log" 2>&1 & fi
SINKPID=$!
for _ in $(seq 50); do grep -q ready "$WORK/sink.log" 2>/dev/null && break; sleep 0.1; done
TCP_SEND="node -e \"const s = require('net').connect($SINKPORT, '$STORE', () => require('fs').createReadStream(process.argv[1]).pipe(s)); s.on('close', () => process.exit(0)); s.resume()\" $WORK/artifact/bench.dump.zst.gpg"

# drctl with its own CPU seconds appended to $WORK/self-cpu when it exits.
DRCTL="node --import ./scripts/bench-self-cpu.mjs bin/drctl.js"
export DRD_BENCH_SELF_CPU="$WORK/self-cpu"

# run_once NAME COMMAND: prints "name wall_s cpu_s rss_kib s3rver_complete_s own_cpu_s"
# (own_cpu_s: drctl's own process, 0 for a command without drctl).
run_once() {
  local name=$1 cmd=$2 completing
  completing=$(s3_complete)
  rm -f "$DRD_BENCH_SELF_CPU"
  /usr/bin/time -o "$WORK/time" -f '%e %U %S %M' bash -o pipefail -c "$cmd" >/dev/null 2>"$WORK/err" || { echo "$name failed:" >&2; cat "$WORK/err" >&2; exit 1; }
  read -r wall user sys rss < <(tail -1 "$WORK/time")
  rm -rf "$WORK/backups" "$WORK/s3/drd-bench"/*
  echo "$name $wall $(awk "BEGIN{print $user + $sys}") $rss $(awk "BEGIN{print $(s3_complete) - $completing}") $(awk '{ s += $1 } END { print s + 0 }' "$DRD_BENCH_SELF_CPU" 2>/dev/null || echo 0)"
}
results=$(
  for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS" >&2
    run_once tcp "$TCP_SEND"
    run_once local "$DRCTL --config $WORK/local.yaml backup bench"
    run_once s3 "$DRCTL --config $WORK/s3.yaml backup bench"
    run_once aws "${AWS[*]} s3 cp --only-show-errors $WORK/artifact/bench.dump.zst.gpg s3://drd-bench/aws/bench.dump.zst.gpg"
    run_once seq "$DRCTL --config $WORK/local.yaml backup bench && ${AWS[*]} s3 sync --only-show-errors $WORK/backups s3://drd-bench/sync"
  done
)

node - "$results" "$ARTIFACT_BYTES" "$SIZE" "$RATE" "$LINK" <<'JS'
const [, , text, artifactBytes, dbBytes, rate, link] = process.argv;
const runs = {};
for (const line of text.trim().split("\n")) {
  const [name, wall, cpu, rss, complete, own] = line.split(" ");
  (runs[name] ??= []).push({ wall: +wall, cpu: +cpu, rss: +rss / 1024, complete: +complete, own: +own });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
const m = (name, key) => median(runs[name].map((r) => r[key]));
const gib = artifactBytes / 2 ** 30;
const limit = rate === "loopback" ? undefined : (artifactBytes * 8) / (Number(rate) * 1e6);
console.log(`link: ${link}`);
console.log(`database ${(dbBytes / 2 ** 20).toFixed(0)} MiB on disk; artifact ${(artifactBytes / 2 ** 20).toFixed(0)} MiB${limit ? `; the link's limit (artifact bytes / rate) ${limit.toFixed(1)} s` : ""}\n`);
const names = {
  tcp: "the artifact over plain TCP (the link's pace)",
  local: "drctl backup, local only",
  s3: "drctl backup, local + S3 at once",
  aws: "aws s3 cp of the same artifact",
  seq: "drctl backup local, then aws s3 sync",
};
console.log(`| run | wall s (median) | every run | CPU s (median) | drctl's own CPU s | peak RSS MiB | s3rver completing s | ${limit ? "x the link's limit |" : ""}`);
console.log(`|---|---:|---|---:|---:|---:|---:|${limit ? "---:|" : ""}`);
for (const k of ["tcp", "local", "s3", "aws", "seq"]) {
  const own = k === "local" || k === "s3" || k === "seq" ? m(k, "own").toFixed(2) : "-";
  const row = [names[k], m(k, "wall").toFixed(1), runs[k].map((r) => r.wall.toFixed(1)).join(", "), m(k, "cpu").toFixed(1), own, Math.max(...runs[k].map((r) => r.rss)).toFixed(0), m(k, "complete").toFixed(1)];
  if (limit) row.push(k === "local" ? "-" : `${(m(k, "wall") / limit).toFixed(2)}x`);
  console.log(`| ${row.join(" | ")} |`);
}
// Round by round: the S3 copy's share of drd's own CPU, then the median of the rounds.
const ownShares = runs.s3.map((r, i) => (r.own - runs.local[i].own) / gib);
const drdCpuPerGib = median(ownShares);
const awsCpuPerGib = m("aws", "cpu") / gib;
const treeCpuPerGib = (m("s3", "cpu") - m("local", "cpu")) / gib;
console.log("");
// The link's real limit is the same bytes over plain TCP: TCP/IP framing alone keeps the payload
// at about 95.6% of the rate (1448 of every 1514 bytes on the wire at MTU 1500). A backup is
// done when its last byte has crossed; s3rver then re-reads and rewrites the whole object
// while the client waits (a real S3 answers at once), so that time is taken off.
const crossed = (k) => (m(k, "wall") - m(k, "complete")) / m("tcp", "wall");
console.log(`local + S3 until its last byte crossed (wall minus the store's completion) / the artifact over plain TCP (target <= 1.10x): ${crossed("s3").toFixed(2)}x; aws s3 cp ${crossed("aws").toFixed(2)}x`);
if (limit) console.log(`local + S3 / the nominal limit (bytes / rate, below what TCP can carry: plain TCP is at ${(m("tcp", "wall") / limit).toFixed(2)}x): ${(m("s3", "wall") / limit).toFixed(2)}x; aws s3 cp ${(m("aws", "wall") / limit).toFixed(2)}x`);
const pairs = runs.s3.map((r, i) => r.wall - runs.aws[i].wall);
console.log(`local + S3 / aws s3 cp (target <= 1.00x): ${(m("s3", "wall") / m("aws", "wall")).toFixed(3)}x of the medians; round by round ${pairs.map((d) => (d >= 0 ? "+" : "") + d.toFixed(2)).join(", ")} s (median ${median(pairs) >= 0 ? "+" : ""}${median(pairs).toFixed(2)} s); / the sequential way: ${(m("s3", "wall") / m("seq", "wall")).toFixed(2)}x`);
console.log(`CPU per GiB sent to S3: drd ${drdCpuPerGib.toFixed(2)} s (its own process, local + S3 minus local only, median of the rounds: ${ownShares.map((x) => x.toFixed(2)).join(", ")}), aws CLI ${awsCpuPerGib.toFixed(2)} s (target: drd <= aws)`);
console.log(`  with pg_dump and zstd counted as well (medians of the whole commands, local + S3 minus local only): ${treeCpuPerGib.toFixed(2)} s`);
console.log(`drd peak RSS with the S3 copy (target < 200 MiB): ${Math.max(...runs.s3.map((r) => r.rss)).toFixed(0)} MiB`);
JS
