#!/usr/bin/env bash
# Builds Nightlight and runs every test (unit suites, PromQL test files,
# end-to-end tests with the real Prometheus). Prints ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} ${CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j2
cd "$build"
ctest --output-on-failure -j2 "$@"
