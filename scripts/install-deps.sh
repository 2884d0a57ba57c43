#!/usr/bin/env bash
# Installs every Debian 12 package Nightlight needs to build, test and
# benchmark, skipping what is already there. Run as root (or with sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libprotobuf-dev protobuf-compiler libsnappy-dev libssl-dev
  libboost-dev libre2-dev nlohmann-json3-dev libyaml-cpp-dev libjemalloc-dev
  # the gRPC query API (server.grpc_addr): C++ library, codegen plugin, reflection
  libgrpc++-dev protobuf-compiler-grpc
  prometheus victoria-metrics python3 python3-snappy python3-protobuf curl openssl
  # libFuzzer: clang and its runtime (scripts/fuzz.sh, the fuzz.smoke test)
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  # policy-rc.d keeps the packaged prometheus service from starting; tests
  # run their own instances on loopback.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
