#!/usr/bin/env bash
# Starts (or stops) a private ClickHouse server on loopback for benchmarks and tests, from a
# copy of Debian's /etc/clickhouse-server config with its own data paths and ports.
#   scripts/clickhouse-local.sh start DIR HTTP_PORT TCP_PORT   # prints the PID once /ping answers
#   scripts/clickhouse-local.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?directory}")
case "$cmd" in
  start)
    http_port=${3:-18123}
    tcp_port=${4:-19000}
    mkdir -p "$dir"/{conf,data,tmp,user_files,format_schemas,log}
    sed -e "s#<http_port>8123</http_port>#<http_port>$http_port</http_port>#" \
        -e "s#<tcp_port>9000</tcp_port>#<tcp_port>$tcp_port</tcp_port>#" \
        -e "s#<interserver_http_port>9009</interserver_http_port>#<interserver_http_port>$((tcp_port + 9))</interserver_http_port>#" \
        -e "s#<listen_host>::1</listen_host>##" \
        -e "s#/var/lib/clickhouse/tmp/#$dir/tmp/#" \
        -e "s#/var/lib/clickhouse/user_files/#$dir/user_files/#" \
        -e "s#/var/lib/clickhouse/format_schemas/#$dir/format_schemas/#" \
        -e "s#<path>/var/lib/clickhouse/</path>#<path>$dir/data/</path>#" \
        -e "s#/var/log/clickhouse-server/#$dir/log/#g" \
        /etc/clickhouse-server/config.xml > "$dir/conf/config.xml"
    cp /etc/clickhouse-server/users.xml "$dir/conf/users.xml"
    nohup clickhouse-server --config-file="$dir/conf/config.xml" > "$dir/log/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/pid"
    for _ in $(seq 1 300); do
      if curl -sf "http://127.0.0.1:$http_port/ping" >/dev/null 2>&1; then echo "$pid"; exit 0; fi
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.1
    done
    echo "clickhouse did not start; see $dir/log" >&2
    tail -20 "$dir/log/stdout.log" "$dir/log/clickhouse-server.err.log" >&2 || true
    exit 1
    ;;
  stop)
    if [[ -f "$dir/pid" ]]; then
      pid=$(cat "$dir/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    ;;
  *) echo "usage: $0 start|stop DIR [HTTP_PORT TCP_PORT]" >&2; exit 2 ;;
esac
