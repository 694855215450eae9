#!/usr/bin/env bash
# chatd as a cluster on this machine (bench/cluster.py): 6 nodes on one
# PostgreSQL holding 100,000 idle sessions, against one chatd in the same
# run. Builds Release first.   bench/cluster.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-release
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target chatd chat-loadgen >/dev/null
exec python3 bench/cluster.py "$BUILD" ${1:+--$1}
