#!/usr/bin/env bash
# The test command (`npm test`): sets everything up, then runs the whole suite.
# The suite starts its own throwaway PostgreSQL cluster; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx vitest run "$@"
