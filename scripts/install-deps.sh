#!/usr/bin/env bash
# Installs every Debian 12 package Nightlight needs to build, test and
# benchmark, skipping what is already there. Run as root (or with sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libprotobuf-dev protobuf-compiler libsnappy-dev libssl-dev
  libboost-dev libre2-dev nlohmann-json3-dev libyaml-cpp-dev libjemalloc-dev zlib1g-dev
  # the gRPC query API (server.grpc_addr): C++ library, codegen plugin, reflection
  libgrpc++-dev protobuf-compiler-grpc
  prometheus victoria-metrics python3 python3-snappy python3-protobuf curl openssl
  # the gRPC e2e tests and bench: Python gRPC, the standard health and
  # reflection protos
  python3-grpcio grpc-proto
  # libFuzzer: clang and its runtime (scripts/fuzz.sh, the fuzz.smoke test)
  clang libclang-rt-14-dev
  # the web UI's browser test (tests/web): headless Chromium
  chromium
  # the Debian package (scripts/package-deb.sh) and its test, which installs
  # it into a debootstrapped chroot and runs it under the unit's system-call
  # filter; nix-instantiate for the Nix files' test
  dpkg-dev lintian debootstrap systemd iproute2 python3-seccomp nix-bin
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm drive the browser test. Checked as commands: a Node.js
# from elsewhere (e.g. NodeSource's nodejs, which bundles npm) will do;
# Debian 12's nodejs 18 + npm 9 is what a fresh machine gets.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  # policy-rc.d keeps the packaged prometheus service from starting; tests
  # run their own instances on loopback.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# playwright-core for the browser test, exactly as tests/web/package-lock.json
# pins it. It drives the system's /usr/bin/chromium: no browser download.
# Skipped while node_modules matches the lock file.
web=$(cd "$(dirname "$0")/../tests/web" && pwd)
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.nightlight-lock"; then
  echo "installing tests/web's npm packages (npm ci)"
  (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
  cp "$web/package-lock.json" "$web/node_modules/.nightlight-lock"
fi
