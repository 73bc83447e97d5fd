#!/usr/bin/env bash
# Installs what a command needs on a fresh Debian machine with Node 20, and says what it is
# doing and about how long it takes. Each step has its own time limit.
#
#   scripts/setup.sh start   what the daemon on your config needs (npm start with a config)
#   scripts/setup.sh demo    start, plus a PostgreSQL server for the demo (npm start without one)
#   scripts/setup.sh test    demo, plus what only the tests use: GnuPG, OpenSSL, Prometheus,
#                            systemd's tools, python3, the aws CLI, jq and Chromium (npm test)
#
# As a user other than root it installs no system package: it names the missing ones and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-test}"
case "$profile" in start|demo|test) ;; *) echo "setup: unknown profile '$profile' (start, demo or test)" >&2; exit 2 ;; esac
began=$SECONDS
say() { echo "setup: $*" >&2; }
# Runs a step under a time limit; a step that overruns fails the set-up with its name.
bounded() {
  local limit="$1" what="$2"
  shift 2
  local rc=0
  timeout --foreground --kill-after=10 "$limit" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    say "$what did not finish within ${limit}s; stopped (run scripts/setup.sh $profile again, or do it by hand)"
    exit 1
  fi
  [ "$rc" -eq 0 ] || { say "$what failed (exit $rc)"; exit "$rc"; }
}

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)"
if [ "$major" != 20 ]; then
  say "drd needs Node.js 20 (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

need_pkgs=()
# What drd runs: pg_dump, pg_dumpall, pg_restore and psql; zstd; GNU tar and getent for
# owner names; fallocate for sparse files.
command -v pg_dump >/dev/null || need_pkgs+=(postgresql-client)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v tar >/dev/null || need_pkgs+=(tar)
command -v fallocate >/dev/null || need_pkgs+=(util-linux)
if [ "$profile" != start ]; then
  # The demo's and the tests' throwaway PostgreSQL server.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
fi
if [ "$profile" = test ]; then
  # gpg reads and writes drd's OpenPGP in the interop tests; openssl makes test certificates.
  command -v gpg >/dev/null || need_pkgs+=(gnupg)
  command -v openssl >/dev/null || need_pkgs+=(openssl)
  # promtool tests the alert rules in config/prometheus/; a real Prometheus scrapes a daemon.
  { command -v promtool >/dev/null && command -v prometheus >/dev/null; } || need_pkgs+=(prometheus)
  # systemd-notify carries readiness and watchdog pings; systemd-analyze checks the unit.
  command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
  # python3 stands in for PID 1's notify socket in the systemd test.
  command -v python3 >/dev/null || need_pkgs+=(python3)
  # The aws CLI and jq run docs/disaster-recovery.md's stock-tools recovery in the runbook test.
  command -v aws >/dev/null || need_pkgs+=(awscli)
  command -v jq >/dev/null || need_pkgs+=(jq)
  # Headless Chromium renders drctl report's HTML in the report test.
  command -v chromium >/dev/null || need_pkgs+=(chromium)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing system packages: ${need_pkgs[*]}"
    say "install them as root, then run this again: apt-get install ${need_pkgs[*]}"
    exit 1
  fi
  say "installing Debian packages: ${need_pkgs[*]} (apt-get; usually under a minute, up to 10)"
  bounded 300 "apt-get update" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive bounded 600 "apt-get install" \
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# better-sqlite3 builds from source here; node-gyp must use the local Node headers.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci; compiles better-sqlite3 from source: 1 to 3 minutes)"
  bounded 900 "npm ci" npm ci --no-audit --no-fund --loglevel=error
fi
# The build is skipped while it is newer than every source file it comes from.
if [ ! -f bundle/BUILD ] || [ -n "$(find src scripts/bundle.mjs tsconfig.json package-lock.json -newer bundle/BUILD -print -quit)" ]; then
  say "building drd (TypeScript and the bundle: about 20 seconds)"
  bounded 300 "the build" npm run --silent build
fi
say "ready in $((SECONDS - began)) s"
