#!/usr/bin/env bash
# Installs what is missing, builds a Release binary and starts Nightlight on
# conf/nightlight.yaml (data in ./data, HTTP on 127.0.0.1:9101).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-release -j2 nightlight
exec build-release/actors/nightlight --config conf/nightlight.yaml "$@"
