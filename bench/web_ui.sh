#!/usr/bin/env bash
# The web UI's speed in headless Chromium, on a quiet machine: first paint
# of /graph (cold cache and reload) and the 100 series x 1000 points graph
# (query, draw, hover frame intervals, stacked redraw, longest task), each
# taken N times (default 10) with median and range. It runs the browser
# test (tests/web/web_ui.py) with --measure-repeat and prints its MEASURE
# lines; every check of the test still runs and must pass.
#
# usage: bench/web_ui.sh [N] [BUILD_DIR]      (defaults: 10, build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
build=${2:-build}
/usr/bin/python3 tests/web/web_ui.py --nightlight "$build/actors/nightlight" --measure-repeat "$n" \
  | tee /dev/stderr | grep -E 'MEASURE|passed|failed' >&2
