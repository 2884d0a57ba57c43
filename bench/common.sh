# Sourced by the bench/run_*.sh scripts that start the servers themselves
# (after they cd to the repository root and set `keep`). One server runs at
# a time: its pid is $pid, the URL that answers once it is ready $ready.
# shellcheck shell=bash disable=SC2034,SC2154  # variables shared with the caller

# $work: a fresh directory under /tmp named after $1, removed on exit unless
# keep=1; the server still running then is killed.
bench_workdir() {
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  pid=""
  trap bench_cleanup EXIT
}
bench_cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
  fi
  if ((keep)); then echo "kept $work" >&2; else rm -rf "$work"; fi
}

# A loopback port in the benchmarks' range that nothing answers on.
free_port() {
  local p
  for p in $(shuf -i 19800-19899); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}

curl_tls=() # client certificate options while a TLS server is measured
wait_ready() { # url, seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS "${curl_tls[@]}" -o /dev/null "$1" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "server exited during start-up" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "not ready after $2 s: $1" >&2; return 1; }
    sleep 0.1
  done
}

stop_server() { # [tenths of a second it may take to exit before kill -9]
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq "$1"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}

# start_prometheus DIR PORT [FLAG...]: Prometheus 2.42 as a remote-write
# receiver that scrapes nothing, its data in DIR/tsdb, its log appended to
# DIR/log.
start_prometheus() {
  local dir=$1 port=$2
  shift 2
  printf 'global:\n  scrape_interval: 1h\n' >"$dir/prometheus.yml"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
    --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver \
    --log.level=warn "$@" >>"$dir/log" 2>&1 &
  pid=$!; ready=http://127.0.0.1:$port/-/ready
}

# start_vm DIR PORT: VictoriaMetrics, its data in DIR/data, its log appended
# to DIR/log.
start_vm() {
  local dir=$1 port=$2
  victoria-metrics -httpListenAddr="127.0.0.1:$port" -storageDataPath="$dir/data" \
    -loggerLevel=WARN >>"$dir/log" 2>&1 &
  pid=$!; ready=http://127.0.0.1:$port/health
}
