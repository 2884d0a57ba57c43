#!/usr/bin/env bash
# Bytes on disk per sample: the same backfilled remote_write data set
# (bench/remote_write_load --backfill: counters, gauges and histograms of
# node-exporter-like targets, 15 s apart) into Nightlight, Prometheus 2.42
# and VictoriaMetrics, one server at a time, then everything persisted:
#   nightlight  POST /api/v1/admin/tsdb/snapshot?skip_head=false when the
#               server has it, else the blocks the compactor has cut (the
#               head's remainder is not counted; samples = those in blocks)
#   prometheus  POST /api/v1/admin/tsdb/snapshot?skip_head=false
#   vm          /internal/force_flush, /internal/force_merge, whole data dir
# Prints a markdown table: bytes, samples, bytes/sample, ratio to VM.
#
# usage: bench/run_disk.sh [--build DIR] [--series 10000]
#          [--samples-per-series 1000] [--block-duration 30m] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
series=10000
sps=1000
block=30m
keep=0
servers="nightlight prometheus vm"
while (($#)); do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --samples-per-series) sps=$2; shift 2 ;;
    --block-duration) block=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
load=$build/bench/remote_write_load
nightlight=$build/actors/nightlight
source bench/common.sh
bench_workdir nl-disk
# Sum of numSamples over the meta.json files below a directory.
meta_samples() {
  python3 - "$1" <<'PY'
import json, os, sys
n = 0
for root, _, files in os.walk(sys.argv[1]):
    if "meta.json" in files:
        with open(os.path.join(root, "meta.json")) as f:
            n += json.load(f)["stats"]["numSamples"]
print(n)
PY
}

declare -A bytes samples note
for s in $servers; do
  dir=$work/$s; mkdir -p "$dir"; port=$(free_port)
  echo "== $s on 127.0.0.1:$port" >&2
  case $s in
    nightlight)
      gport=$(free_port)
      cat >"$dir/nightlight.yaml" <<YAML
server:
  http_addr: "127.0.0.1:$port"
  grpc_addr: "127.0.0.1:$gport"
  enable_admin_api: true
storage:
  data_dir: "$dir/data"
  block_duration: "$block"
  compaction_interval_seconds: 5
YAML
      "$nightlight" --config "$dir/nightlight.yaml" >"$dir/log" 2>&1 &
      pid=$!; ready=http://127.0.0.1:$port/-/ready ;;
    prometheus) start_prometheus "$dir" "$port" --web.enable-admin-api ;;
    vm) start_vm "$dir" "$port" ;;
  esac
  wait_ready "$ready" 60
  "$load" --url "127.0.0.1:$port" --series "$series" --samples-per-series "$sps" --backfill \
    --connections 2 >"$dir/load.log" 2>&1 || { tail "$dir/load.log" >&2; exit 1; }
  grep '^RESULT' "$dir/load.log" >&2 || true
  sleep 3
  case $s in
    nightlight)
      if curl -fsS -XPOST "http://127.0.0.1:$port/api/v1/admin/tsdb/snapshot?skip_head=false" >"$dir/snap.json" 2>/dev/null; then
        snap=$dir/data/snapshots/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["name"])' "$dir/snap.json")
        bytes[$s]=$(du -sb "$snap" | cut -f1); samples[$s]=$(meta_samples "$snap"); note[$s]="snapshot, head included"
      else
        # Let the compactor cut every due window (it looks every
        # block_duration/60, at least every minute).
        last=""; same=0
        for _ in $(seq 240); do
          now=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^nightlight_compactions_total/ {print $2}')
          if [[ $now == "$last" && $now != 0 ]]; then same=$((same + 1)); else same=0; fi
          ((same >= 10)) && break
          last=$now; sleep 1
        done
        bytes[$s]=$(du -sb "$dir/data/blocks" | cut -f1); samples[$s]=$(meta_samples "$dir/data/blocks")
        note[$s]="blocks only (no snapshot API); WAL $(du -sb "$dir/data/wal" | cut -f1) bytes"
      fi ;;
    prometheus)
      curl -fsS -XPOST "http://127.0.0.1:$port/api/v1/admin/tsdb/snapshot?skip_head=false" >"$dir/snap.json"
      snap=$dir/tsdb/snapshots/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["name"])' "$dir/snap.json")
      bytes[$s]=$(du -sb "$snap" | cut -f1); samples[$s]=$(meta_samples "$snap"); note[$s]="snapshot, head included" ;;
    vm)
      curl -fsS "http://127.0.0.1:$port/internal/force_flush" >/dev/null
      curl -fsS "http://127.0.0.1:$port/internal/force_merge" >/dev/null
      sleep 10
      bytes[$s]=$(du -sb "$dir/data" | cut -f1); samples[$s]=$((series * sps)); note[$s]="whole data dir after force_merge" ;;
  esac
  stop_server 150
done

echo
echo "Data set: $series series × $sps samples, 15 s apart (bench/remote_write_load --backfill); Nightlight block_duration $block."
echo
echo "| server | bytes | samples | bytes/sample | vs VM | measured |"
echo "|---|---:|---:|---:|---:|---|"
for s in $servers; do
  bps=$(awk -v b="${bytes[$s]}" -v n="${samples[$s]}" 'BEGIN { printf "%.3f", (n > 0 ? b / n : 0) }')
  vm=$(awk -v b="${bytes[vm]:-0}" -v n="${samples[vm]:-0}" 'BEGIN { printf "%.6f", (n > 0 ? b / n : 0) }')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$s" "${bytes[$s]}" "${samples[$s]}" "$bps" \
    "$(awk -v a="$bps" -v b="$vm" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }')" "${note[$s]}"
done
