#!/usr/bin/env bash
# Installs what drd and its tests need on a fresh Debian machine with Node 20:
# system tools (PostgreSQL server and client, zstd, GnuPG, GNU tar, promtool, systemd's tools) and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v pg_dump >/dev/null || need_pkgs+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v gpg >/dev/null || need_pkgs+=(gnupg)
command -v tar >/dev/null || need_pkgs+=(tar)
command -v openssl >/dev/null || need_pkgs+=(openssl)
# promtool tests the Prometheus alert rules in config/prometheus/; a real Prometheus scrapes a daemon in the tests.
{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || need_pkgs+=(prometheus)
# systemd-notify carries the daemon's readiness and watchdog pings; systemd-analyze checks the unit.
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
# python3 stands in for PID 1's notify socket in the systemd test.
command -v python3 >/dev/null || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${need_pkgs[*]} (install them as root: apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# better-sqlite3 builds from source here; node-gyp must use the local Node headers.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
