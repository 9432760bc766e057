#!/usr/bin/env bash
# Installs the Debian packages fleetbond needs, skipping those already present. Idempotent.
#   scripts/setup.sh          packages to build and run
#   scripts/setup.sh --test   also what the tests need
set -euo pipefail

build_pkgs=(
  cmake ninja-build g++ pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libssl-dev nlohmann-json3-dev prometheus-cpp-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
test_pkgs=(clang-format iproute2 nftables iperf3 iputils-ping python3 prometheus python3-grpcio
  python3-protobuf etcd-server openssl curl python3-yaml python3-jsonschema clang-14 libclang-rt-14-dev)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
