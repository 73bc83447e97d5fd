#!/usr/bin/env bash
# `npm start`: with a config ($DRD_CONFIG, else /etc/drd/drd.yaml), installs what the daemon
# needs and runs it in the foreground on that config. Without one, brings up the demo
# (src/demo/): a throwaway PostgreSQL, S3 server and alert receiver, keys and a config of
# its own, the daemon on them; Ctrl-C stops everything it started and removes what it made.
set -euo pipefail
cd "$(dirname "$0")/.."

config="${DRD_CONFIG:-/etc/drd/drd.yaml}"
if [ -f "$config" ]; then
  bash scripts/setup.sh start
  exec bin/drctl.js daemon --config "$config"
fi
echo "drd: no config at $config; starting the demo (set DRD_CONFIG to run the daemon on yours)" >&2
bash scripts/setup.sh demo
exec node dist/demo/main.js
