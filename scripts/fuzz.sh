#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (a build tree of
# its own, default build-fuzz) and runs each one from its committed seed
# corpus: `--seconds N` each (default 10, the smoke run of the test suite;
# docs/FUZZING.md records longer runs). Exits non-zero on the first crash,
# leak or timeout a target reports; the reproducer is left in the work dir
# it prints. New corpus entries are kept in that temporary dir, never in
# tests/fuzz/corpus.
#
# usage: scripts/fuzz.sh [--seconds N] [--build DIR] [--only TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
build=build-fuzz
only=""
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
build=$(realpath -m "$build")
cxx=$(command -v clang++ || command -v clang++-14 || true)
cc=$(command -v clang || command -v clang-14 || true)
if [[ -z $cxx || -z $cc ]]; then
  echo "fuzz.sh: clang is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNL_FUZZ=ON \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
targets=(block_reader block_tombstones wal_segment wal_records wal_checkpoint remote_write remote_read promql_parser
         query_params config prometheus_import web_ui accept_encoding proc_stat client_parsers series_refs head_snapshot)
[[ -n $only ]] && targets=("$only")
ninja -C "$build" -j2 "${targets[@]/#/fuzz_}"
work=$(mktemp -d /tmp/nl-fuzz-XXXXXX)
status=0
pids=()  # the file-based targets keep scratch files in /dev/shm/nl-fuzz-<what>-<pid>
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp -r tests/fuzz/corpus/$t/. "$work/$t/" 2>/dev/null || true
  echo "== fuzz_$t for ${seconds}s" >&2
  (cd "$work" && ASAN_OPTIONS=detect_leaks=1 exec "$build/tests/fuzz/fuzz_$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "$work/$t" >"$work/$t.log" 2>&1) &
  pids+=("$!")
  if ! wait "$!"; then
    echo "fuzz_$t FAILED; log and reproducer in $work:" >&2
    tail -40 "$work/$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$t.log" | tr '\n' ' ' >&2
    echo >&2
  fi
done
# Only this run's scratch files: other fuzz runs on the machine keep theirs.
if [[ $status == 0 ]]; then
  rm -rf "$work"
  for p in "${pids[@]}"; do rm -rf /dev/shm/nl-fuzz-*-"$p"; done
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each: $([[ $status == 0 ]] && echo ok || echo FAILED)"
exit $status
