#!/usr/bin/env bash
# Remote-write rate under a flood of heavy range queries, against its quiet
# rate, for Nightlight, Prometheus 2.42 and VictoriaMetrics (one server at a
# time, loopback): see bench/query_flood_bench.py. Figures: docs/BENCHMARKS.md.
#
# usage: bench/run_query_flood.sh [--build DIR] [query_flood_bench.py options:
#          --servers nightlight,prometheus,vm --series 100000 --clients 20
#          --duration 30 --connections 4 --keep]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
if [[ ${1:-} == --build ]]; then build=$2; shift 2; fi
load=$build/bench/remote_write_load
nightlight=$build/actors/nightlight
[[ -x $load ]] || { echo "build $load first: ninja -C $build remote_write_load" >&2; exit 1; }
py=/usr/bin/python3
[[ -x $py ]] || py=python3
args=(--loader "$load")
[[ -x $nightlight ]] && args+=(--nightlight "$nightlight")
exec "$py" bench/query_flood_bench.py "${args[@]}" "$@"
