#!/usr/bin/env bash
# Query latency benchmark: loads the same data (default 10 000 series x 1 000
# samples, 15 s apart, ending a minute ago) into Nightlight, Prometheus 2.42
# and VictoriaMetrics with `remote_write_load --backfill`, then times the
# query set of bench/query_bench.py against all three and prints a markdown
# table (median and p90 per server, Nightlight/VM and Nightlight/Prometheus
# ratios, whether the answers agree). Everything runs on loopback.
#
# usage: bench/run_query.sh [--build DIR] [query_bench.py options: --servers
#          nightlight,prometheus,vm --series N --samples N --runs N --warmups N
#          --connections N --keep]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
if [[ ${1:-} == --build ]]; then build=$2; shift 2; fi
load=$build/bench/remote_write_load
nightlight=$build/actors/nightlight
[[ -x $load ]] || { echo "build $load first: ninja -C $build remote_write_load" >&2; exit 1; }
# python3-snappy/protobuf live with Debian's interpreter (nlharness imports them).
py=/usr/bin/python3
[[ -x $py ]] || py=python3
args=(--loader "$load")
[[ -x $nightlight ]] && args+=(--nightlight "$nightlight")
exec "$py" bench/query_bench.py "${args[@]}" "$@"
