#!/usr/bin/env bash
# `npm start`: installs what drd needs, then runs the daemon in the foreground.
# Config: $DRD_CONFIG, else /etc/drd/drd.yaml, else a demo config written to .demo/ that
# backs up this repository's config/ directory every hour to .demo/backups.
# As root, the demo runs as the unprivileged user `nobody`: drd refuses root by design.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

config="${DRD_CONFIG:-/etc/drd/drd.yaml}"
run_as=()
if [ ! -f "$config" ]; then
  demo="$PWD/.demo"
  mkdir -p "$demo"
  config="$demo/drd.yaml"
  if [ ! -f "$config" ]; then
    cat > "$config" <<YAML
# Demo config written by npm start; see config/drd.example.yaml for every option.
state_dir: $demo/state
targets:
  local: { type: local, path: $demo/backups, retention: { keep_last: 24 } }
policy: { copies: 1, media: 1, offsite: 0 }
jobs:
  config:
    type: files
    paths: [$PWD/config]
    schedule: "0 * * * *"
    rpo: 1h
    targets: [local]
signing: { key_file: $demo/keys/signing-secret.asc }
YAML
  fi
  [ -f "$demo/keys/signing-secret.asc" ] || bin/drctl.js keys init --dir "$demo/keys" >/dev/null
  if [ "$(id -u)" -eq 0 ]; then
    chown -R nobody "$demo"
    run_as=(runuser -u nobody --)
  fi
  echo "drd: no config at ${DRD_CONFIG:-/etc/drd/drd.yaml}; using the demo config $config" >&2
fi
exec "${run_as[@]}" bin/drctl.js daemon --config "$config"
