#!/usr/bin/env bash
# Configures and builds chatd.
# Usage: scripts/build.sh [BUILD_DIR] [BUILD_TYPE] [TARGET...]  (no target: everything)
# CHATD_SANITIZE=address,undefined (or thread) builds with those sanitizers;
# CHATD_WERROR=ON makes warnings errors (scripts/test.sh, so CI).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
build_type=${2:-RelWithDebInfo}
shift $(( $# > 2 ? 2 : $# ))
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DCHATD_SANITIZE="${CHATD_SANITIZE:-}" -DCHATD_WERROR="${CHATD_WERROR:-OFF}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
