#!/usr/bin/env bash
# Memory and restart at scale: a backfilled remote_write data set
# (bench/remote_write_load --backfill, default 1M series × 80 samples 15 s
# apart = 20 minutes of data, the same for both, ending 15 s before a block
# boundary) into Nightlight (storage.block_duration 5m, so
# the head is cut into blocks several times during the run) and
# VictoriaMetrics, one server at a time. RSS is sampled every second while
# the load runs. Prints a markdown table: ingestion rate, peak RSS, RSS when
# Nightlight's first cut finished and at the end of the load (flat after
# the first cut means the head, not the history, bounds memory), RSS per
# series at the end and 30 s later (background cuts and merges done), and
# the time from start to ready on the same data after a stop, after a
# second stop, after kill -9 (Nightlight: the head snapshot the second
# stop wrote, plus the WAL segment written since), and after kill -9
# without a head snapshot (as after a crash once a cut has deleted it:
# the whole WAL is replayed; VictoriaMetrics: a second kill -9). Also the
# start on an empty data directory (the process alone), and for
# Nightlight the floor of any start that rebuilds its head in memory
# (below the table).
#
# usage: bench/run_memory.sh [--build DIR] [--series 1000000]
#          [--samples-per-series 80] [--block-duration 5m]
#          [--servers "nightlight vm prometheus"] [--connections 4] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build; series=1000000; sps=80; block=5m; servers="nightlight vm"; keep=0; conns=4
while (($#)); do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --samples-per-series) sps=$2; shift 2 ;;
    --block-duration) block=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
load=$build/bench/remote_write_load
nightlight=$build/actors/nightlight
source bench/common.sh
bench_workdir nl-mem
rss_mib() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_mib() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Seconds until the URL answers 2xx, polled every 10 ms (each poll adds a
# curl start, a few ms): restarts at 1 M series take 0.1-0.4 s, which a
# coarser poll rounds away.
time_ready() {
  local start end
  start=$(date +%s.%N)
  for _ in $(seq 30000); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "server exited" >&2; return 1; }
    sleep 0.01
  done
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
start() { # name dir port -> pid, ready url
  local s=$1 dir=$2 port=$3
  case $s in
    nightlight)
      local gport=$port
      while [[ $gport == "$port" ]]; do gport=$(free_port); done
      cat >"$dir/nightlight.yaml" <<YAML
server:
  http_addr: "127.0.0.1:$port"
  grpc_addr: "127.0.0.1:$gport"
  max_inflight_samples: 4000000
storage:
  data_dir: "$dir/data"
  block_duration: "$block"
YAML
      "$nightlight" --config "$dir/nightlight.yaml" >>"$dir/log" 2>&1 &
      pid=$!; ready=http://127.0.0.1:$port/-/ready ;;
    prometheus) start_prometheus "$dir" "$port" ;;
    vm) start_vm "$dir" "$port" ;;
  esac
}

declare -A rate peak at_cut at_end settled restart after again crash crash_full empty
alloc_note=""
floor_note=""
# Both servers get the same data (remote_write_load --end-ms), ending 15 s
# before a block boundary: Nightlight's head then ends the load holding one
# block duration after its last cut. With the end at "now" the head held
# anywhere from half to one and a half block durations, depending on the
# minute the script ran, and the memory at the end moved with it.
block_ms() {
  local n=${1%[smh]}
  case $1 in *s) echo $((n * 1000)) ;; *m) echo $((n * 60000)) ;; *h) echo $((n * 3600000)) ;;
    *) echo "--block-duration: use s, m or h" >&2; exit 64 ;; esac
}
bms=$(block_ms "$block")
end_ms=$(( ($(date +%s) * 1000 - 60000) / bms * bms - 15000 ))
for s in $servers; do
  dir=$work/$s; mkdir -p "$dir"; port=$(free_port)
  echo "== $s on 127.0.0.1:$port" >&2
  start "$s" "$dir" "$port"; empty[$s]=$(time_ready "$ready")
  : >"$dir/rss"
  "$load" --url "127.0.0.1:$port" --series "$series" --samples-per-series "$sps" --backfill --end-ms "$end_ms" \
    --connections "$conns" --max-payload-mb 4096 >"$dir/load.log" 2>&1 &
  lpid=$!
  at_cut[$s]="-"
  while kill -0 "$lpid" 2>/dev/null; do
    r=$(rss_mib "$pid"); echo "$SECONDS $r" >>"$dir/rss"
    if [[ $s == nightlight && ${at_cut[$s]} == - ]] && grep -q "compactor: block" "$dir/log"; then
      at_cut[$s]=$r
    fi
    sleep 1
  done
  wait "$lpid" || { tail "$dir/load.log" >&2; exit 1; }
  rate[$s]=$(sed -n 's/.*samples_per_sec=\([0-9.]*\).*/\1/p' "$dir/load.log")
  sleep 5
  at_end[$s]=$(rss_mib "$pid"); peak[$s]=$(hwm_mib "$pid")
  # Once background work (Nightlight's cuts, VictoriaMetrics' merges) is
  # done: what a steady load would see between cuts.
  sleep 25
  settled[$s]=$(rss_mib "$pid")
  if [[ $s == nightlight ]]; then
    # What the allocator holds against what it keeps resident: the gap is
    # fragmentation, not data.
    alloc_note=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '
      /^nightlight_allocator_allocated_bytes / { a = $2 } /^nightlight_allocator_resident_bytes / { r = $2 }
      END { printf "jemalloc at end: %.0f MiB allocated, %.0f MiB resident", a / 1048576, r / 1048576 }')
  fi
  [[ $s == vm ]] && curl -fsS "http://127.0.0.1:$port/internal/force_flush" >/dev/null
  stop_server 600
  start "$s" "$dir" "$port"; restart[$s]=$(time_ready "$ready")
  sleep 2; after[$s]=$(rss_mib "$pid")
  # A second stop and start (the first start may have had work left by
  # the load: VictoriaMetrics' caches, Nightlight's last cut), then a
  # start after kill -9 (Nightlight loads the snapshot the second stop
  # wrote and replays the WAL written since), then one after kill -9
  # with no snapshot (Nightlight replays the whole WAL).
  stop_server 600
  start "$s" "$dir" "$port"; again[$s]=$(time_ready "$ready")
  sleep 1
  if [[ $s == nightlight ]]; then
    # The least any start that rebuilds this head in memory pays: the
    # process itself (the start on an empty data directory), bringing the
    # head's anonymous memory in (bench/memory_touch_floor, both cores)
    # and reading the snapshot from the page cache (one thread, halved as
    # if both cores shared it). Nothing of the head is built yet.
    anon=$(awk '/^RssAnon:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
    snap_bytes=$(stat -c %s "$dir/data/head.snapshot")
    touch_s=$("$build/bench/memory_touch_floor" --mb "$anon" --threads 2 --runs 3 | awk '{ print $(NF - 1) }' | sort -n | head -1)
    read_s=$(for _ in 1 2 3; do
      a=$(date +%s.%N); cat "$dir/data/head.snapshot" >/dev/null; b=$(date +%s.%N)
      awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'
    done | sort -n | head -1)
    floor_note=$(awk -v e="${empty[$s]}" -v t="$touch_s" -v r="$read_s" -v m="$anon" -v b="$snap_bytes" 'BEGIN {
      printf "Floor of a start that rebuilds this head: %.2f s (start on an empty data directory %.2f s + %d MiB of anonymous memory brought in on two threads %.3f s + the %.0f MB snapshot read from the page cache %.3f s on one thread, halved)", e + t + r / 2, e, m, t, b / 1e6, r }')
  fi
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  start "$s" "$dir" "$port"; crash[$s]=$(time_ready "$ready")
  sleep 1
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$dir/data/head.snapshot"
  start "$s" "$dir" "$port"; crash_full[$s]=$(time_ready "$ready")
  stop_server 600
done

echo
echo "Data set: $series series × $sps samples 15 s apart (backfill, the last at $end_ms, 15 s before a block boundary), $conns connections; Nightlight block_duration $block; $(nproc) cores."
echo
echo "| server | samples/s | peak RSS MiB | RSS at first cut MiB | RSS at end MiB | KiB/series at end | KiB/series 30 s later | start on empty data dir s | restart to ready s | RSS after restart MiB | second restart s | start after kill -9 s | after kill -9, no snapshot s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in $servers; do
  per=$(awk -v r="${at_end[$s]}" -v n="$series" 'BEGIN { printf "%.2f", r * 1024 / n }')
  per_settled=$(awk -v r="${settled[$s]}" -v n="$series" 'BEGIN { printf "%.2f", r * 1024 / n }')
  printf '| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "${rate[$s]:-0}" "${peak[$s]}" \
    "${at_cut[$s]}" "${at_end[$s]}" "$per" "$per_settled" "${empty[$s]}" "${restart[$s]}" "${after[$s]}" "${again[$s]}" "${crash[$s]}" \
    "${crash_full[$s]}"
done
[[ -n $alloc_note ]] && { echo; echo "Nightlight's $alloc_note."; }
[[ -n $floor_note ]] && { echo; echo "$floor_note."; }
