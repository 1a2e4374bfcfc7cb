#!/usr/bin/env bash
# Runs every benchmark against a Release build: bench/run.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build-bench}
"$BUILD/bench/ingest_bench" "${@:2}"
