#!/usr/bin/env bash
# The soak (bench/soak.py): 10 minutes of churn at ~1,000 logins/s with
# 15,000 resident sessions and a kick storm every minute, on a Release
# build; writes bench/results/soak.json and re-renders bench/RESULTS.md.
#   bench/soak.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-release
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target chatd chat-loadgen >/dev/null
status=0
python3 bench/soak.py "$BUILD" --minutes "${1:-10}" || status=$?
python3 bench/write_results.py
exit $status
