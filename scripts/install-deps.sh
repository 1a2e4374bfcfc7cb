#!/usr/bin/env bash
# Installs the Debian packages tidemark builds and tests with; does nothing for
# packages already present. Safe to run repeatedly (make run / make test call it).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev            # Boost.Asio and Boost.Beast (header-only)
  libsimdjson-dev         # JSON parsing on the ingest path
  libzstd-dev zlib1g-dev  # body and segment compression
  libxxhash-dev           # fast hashing (event ids, dedup)
  libssl-dev              # SHA-256/HMAC for keys and PII hashing
  libcli11-dev            # command line
  libspdlog-dev libfmt-dev
  libtomlplusplus-dev     # TOML configuration
  nlohmann-json3-dev      # JSON documents in the schema registry (Avro schemas, REST bodies)
  libgtest-dev libgmock-dev libbenchmark-dev
  curl
)
# Test peers: Node.js for the independent format readers from npm, kcat for Kafka topics.
TEST_PACKAGES=(nodejs npm kcat)
# Benchmark peers: a real OLAP server measured in the same run.
BENCH_PACKAGES=(clickhouse-server clickhouse-client)

want=("${PACKAGES[@]}")
case "${1:-}" in
  --test) want+=("${TEST_PACKAGES[@]}") ;;
  --bench) want+=("${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from elsewhere than Debian; accept them when on PATH.
    if [[ "$p" == nodejs ]] && command -v node >/dev/null; then continue; fi
    if [[ "$p" == npm ]] && command -v npm >/dev/null; then continue; fi
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
