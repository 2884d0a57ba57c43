#!/usr/bin/env bash
# Ingestion benchmark: the same remote_write workload (bench/remote_write_load)
# against Nightlight, Prometheus 2.42 (--web.enable-remote-write-receiver) and
# VictoriaMetrics, one server at a time, everything on loopback. Prints a
# markdown table: samples/s, request latency, server CPU per million samples,
# peak RSS (VmHWM) per active series, and ratios against VictoriaMetrics.
#
# --mtls instead measures Nightlight alone, plaintext against mutual TLS
# (certificates from scripts/gen-dev-certs.sh, require_client_cert: true),
# in one invocation with the same workload, alternating plain, tls, plain,
# tls so that drifting load on the machine hits both sides; it prints both
# pairs and the mTLS/plaintext throughput ratio of each.
#
# usage: bench/run_ingest.sh [--build DIR] [--servers "nightlight prometheus vm"]
#          [--series 10000] [--connections 4] [--samples-per-series 2000]
#          [--duration 20] [--keep] [--mtls] [--reconnect-every N]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
servers="nightlight prometheus vm"
series=10000
connections=4
sps=2000
duration=20
keep=0
mtls=0
reconnect_every=0
while (($#)); do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --samples-per-series) sps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --mtls) mtls=1; shift ;;
    --reconnect-every) reconnect_every=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done

load=$build/bench/remote_write_load
nightlight=$build/actors/nightlight
[[ -x $load ]] || { echo "build $load first: ninja -C $build remote_write_load" >&2; exit 1; }

source bench/common.sh
bench_workdir nl-bench

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

start_server() { # name, dir, port [certs dir: mutual TLS] -> sets pid, ready url
  local name=$1 dir=$2 port=$3 certs=${4:-}
  mkdir -p "$dir"
  case "$name" in
    nightlight)
      [[ -x $nightlight ]] || { echo "no $nightlight" >&2; return 1; }
      local gport=$port
      while [[ $gport == "$port" ]]; do gport=$(free_port); done
      cat >"$dir/nightlight.yaml" <<EOF
server:
  http_addr: "127.0.0.1:$port"
  grpc_addr: "127.0.0.1:$gport"
storage:
  data_dir: "$dir/data"
  fsync: "interval"
EOF
      if [[ -n $certs ]]; then
        cat >>"$dir/nightlight.yaml" <<EOF
tls:
  cert_file: "$certs/server.pem"
  key_file: "$certs/server-key.pem"
  ca_file: "$certs/ca.pem"
  require_client_cert: true
EOF
      fi
      "$nightlight" --config "$dir/nightlight.yaml" >"$dir/log" 2>&1 &
      pid=$!; ready=http${certs:+s}://127.0.0.1:$port/-/ready ;;
    prometheus) start_prometheus "$dir" "$port" ;;
    vm) start_vm "$dir" "$port" ;;
    *) echo "unknown server $name" >&2; return 1 ;;
  esac
  wait_ready "$ready" 60
}

stored_series() { # base url: series with job="node" the server lists (ingestion check)
  curl -fsS "${curl_tls[@]}" -G "$1/api/v1/series" --data-urlencode 'match[]={job="node"}' \
      --data-urlencode "start=$(($(date +%s) - 86400))" 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))' 2>/dev/null || echo "?"
}

declare -A rate p50 p99 cpu rss stored non2xx retries handshakes resumed
hz=$(getconf CLK_TCK)

# measure KEY SERVER [CERTS_DIR]: one server, one load run; results under KEY.
measure() {
  local key=$1 s=$2 certs=${3:-} port
  local load_tls=()
  curl_tls=()
  if [[ -n $certs ]]; then
    load_tls=(--tls-ca "$certs/ca.pem" --tls-cert "$certs/writer.pem"
              --tls-key "$certs/writer-key.pem")
    curl_tls=(--cacert "$certs/ca.pem" --cert "$certs/reader.pem" --key "$certs/reader-key.pem")
  fi
  port=$(free_port)
  echo "== $key: $s on 127.0.0.1:$port${certs:+ (mutual TLS)}" >&2
  if ! start_server "$s" "$work/$key" "$port" "$certs"; then
    tail -20 "$work/$key/log" >&2 || true
    rate[$key]=failed; stop_server 100; return
  fi
  local out result samples
  out=$("$load" --url "127.0.0.1:$port" --series "$series" --connections "$connections" \
          --samples-per-series "$sps" --duration "$duration" \
          --reconnect-every "$reconnect_every" "${load_tls[@]}" \
          2>&1 | tee /dev/stderr) || true
  result=$(grep '^RESULT' <<<"$out" || true)
  get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" ${result#RESULT}"; }
  if [[ -z $result ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "$key: no result (server alive: $(kill -0 "$pid" 2>/dev/null && echo yes || echo no))" >&2
    tail -20 "$work/$key/log" >&2 || true
    rate[$key]=failed
  else
    rate[$key]=$(get samples_per_sec); p50[$key]=$(get p50_ms); p99[$key]=$(get p99_ms)
    non2xx[$key]=$(get non2xx); retries[$key]=$(get retries)
    handshakes[$key]=$(get tls_handshakes); resumed[$key]=$(get tls_resumed)
    samples=$(get samples)
    cpu[$key]=$(awk -v t="$(cpu_ticks "$pid")" -v hz="$hz" -v n="$samples" \
                'BEGIN { printf "%.2f", (n > 0 ? t / hz / (n / 1e6) : 0) }')
    rss[$key]=$(hwm_kib "$pid")
    sleep 2 # let buffered servers (VictoriaMetrics) make the data searchable
    stored[$key]=$(stored_series "http${certs:+s}://127.0.0.1:$port")
  fi
  stop_server 100
  rm -rf "$work/$key/data" "$work/$key/tsdb"
}

ratio() { # value, reference -> "1.23x" or "-"
  awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'
}

workload_line() {
  local re=""
  ((reconnect_every == 0)) || re=", a new connection every $reconnect_every requests"
  echo "Workload: $series series, $connections connections, up to $sps samples/series, ≤ ${duration}s per run, 500 samples/request$re; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
}

if ((mtls)); then
  command -v openssl >/dev/null || { echo "--mtls needs the openssl command" >&2; exit 1; }
  scripts/gen-dev-certs.sh "$work/certs" >/dev/null
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  order=(plain-1 mtls-1 plain-2 mtls-2)
  for key in "${order[@]}"; do
    if [[ $key == mtls-* ]]; then measure "$key" nightlight "$work/certs"
    else measure "$key" nightlight; fi
  done
  echo
  workload_line
  echo "Load average before the first run: $load_before. Server CPU only (the load generator is not counted)."
  echo
  echo "| run | transport | samples/s | p50 ms | p99 ms | CPU s per 1M samples | TLS handshakes (resumed) | series listed | non-2xx | mTLS / plaintext |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for key in "${order[@]}"; do
    if [[ ${rate[$key]} == failed ]]; then
      echo "| $key | | failed | | | | | | | |"; continue
    fi
    transport=plaintext; vs=""; tls_count="-"
    if [[ $key == mtls-* ]]; then
      transport="mutual TLS"; tls_count="${handshakes[$key]} (${resumed[$key]})"
      vs=$(ratio "${rate[$key]}" "${rate[plain-${key#mtls-}]:-0}")
    fi
    printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n' "$key" "$transport" \
      "${rate[$key]}" "${p50[$key]}" "${p99[$key]}" "${cpu[$key]}" "$tls_count" \
      "${stored[$key]}" "${non2xx[$key]}" "$vs"
  done
  exit 0
fi

for s in $servers; do
  measure "$s" "$s"
done

echo
workload_line
echo
echo "| server | samples/s | vs VM | p50 ms | p99 ms | CPU s per 1M samples | peak RSS MiB | RSS KiB/series | RSS vs VM | series listed | non-2xx | 5xx retries |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in $servers; do
  if [[ ${rate[$s]} == failed ]]; then
    echo "| $s | failed | | | | | | | | | | |"; continue
  fi
  per_series=$(awk -v r="${rss[$s]}" -v n="$series" 'BEGIN { printf "%.2f", r / n }')
  vm_per_series=$(awk -v r="${rss[vm]:-0}" -v n="$series" 'BEGIN { printf "%.2f", r / n }')
  printf '| %s | %.0f | %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n' \
    "$s" "${rate[$s]}" "$(ratio "${rate[$s]}" "${rate[vm]:-0}")" "${p50[$s]}" "${p99[$s]}" \
    "${cpu[$s]}" "$(awk -v r="${rss[$s]}" 'BEGIN { print r / 1024 }')" "$per_series" \
    "$(ratio "$per_series" "$vm_per_series")" "${stored[$s]}" "${non2xx[$s]}" "${retries[$s]}"
done
