#!/usr/bin/env bash
# npm packages the end-to-end tests use as independent readers (installed into tests/node).
set -euo pipefail
cd "$(dirname "$0")/../tests/node"
if [[ ! -d node_modules ]] || [[ package.json -nt node_modules ]]; then
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules
fi
