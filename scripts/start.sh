#!/usr/bin/env bash
# `npm start`: with a config ($DRD_CONFIG, else /etc/drd/drd.yaml), installs what the daemon
# needs and runs it in the foreground on that config. Without one, brings up the demo
# (src/demo/): a throwaway PostgreSQL, S3 server and alert receiver, keys and a config of
# its own, the daemon on them; Ctrl-C stops everything it started and removes what it made.
set -euo pipefail
cd "$(dirname "$0")/.."

config="${DRD_CONFIG:-/etc/drd/drd.yaml}"
if [ -f "$config" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "drd: npm start runs the daemon on $config, and drd refuses to run as root: start it as its own user (runuser -u drd -- npm start), or install it as a service (scripts/install.sh; systemctl start drd)" >&2
    exit 2
  fi
  bash scripts/setup.sh start
  exec bin/drctl.js daemon --config "$config"
fi
echo "drd: no config at $config; starting the demo (set DRD_CONFIG to run the daemon on yours)" >&2
bash scripts/setup.sh demo
exec node dist/demo/main.js
