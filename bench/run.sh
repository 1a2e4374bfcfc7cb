#!/usr/bin/env bash
# Runs every benchmark against a Release build: bench/run.sh [BUILD_DIR]
# Each prints its own figures; compare ratios and medians, not single runs (shared machine).
set -euo pipefail
BUILD=${1:-build-bench}
cd "$(dirname "$0")/.."
echo "== ingest (tidemark vs ClickHouse, durable acks)"; "$BUILD/bench/ingest_bench"
echo "== freshness (ack -> counted in /v1/query)";     "$BUILD/bench/freshness_bench" --probes 100
echo "== stream operators on one core";                "$BUILD/bench/stream_bench"
echo "== bronze lake writer";                          "$BUILD/bench/lake_bench"
echo "== batch silver + gold vs DuckDB";               "$BUILD/bench/batch_bench" 1000000
