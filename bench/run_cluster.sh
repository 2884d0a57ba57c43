#!/usr/bin/env bash
# Cluster-mode cost benchmark (issue 12), on one machine: CPU per
# acknowledged sample with replication factor 2 over three local nodes
# against one node (target <= 2.5x), samples/s over one node link, and the
# latency fan-out adds per query class. See bench/cluster_bench.py for what
# each number means; the results feed docs/CLUSTER.md ("Scaling").
#
# Run it on a quiet machine; timings taken while other work runs are noise.
#
# usage: bench/run_cluster.sh [--build DIR] [cluster_bench.py options]
#   e.g. bench/run_cluster.sh --series 10000 --duration 20 --runs 15
#   tiny smoke run: bench/run_cluster.sh --series 200 --samples-per-series 50 \
#                     --duration 3 --query-samples 60 --runs 3 --warmups 1
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
if [[ ${1:-} == --build ]]; then
  build=$2
  shift 2
fi
nightlight=$build/actors/nightlight
loader=$build/bench/remote_write_load
for b in "$nightlight" "$loader"; do
  [[ -x $b ]] || { echo "build $b first: ninja -C $build nightlight remote_write_load" >&2; exit 1; }
done
exec /usr/bin/python3 bench/cluster_bench.py --nightlight "$nightlight" --loader "$loader" "$@"
