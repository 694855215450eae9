#!/usr/bin/env bash
# The long partition nemesis (bench/nemesis.mjs): seeded random storms of
# cuts, one-way losses, delays, freezes and PostgreSQL losses against a
# 3-node chatd cluster on a PostgreSQL of its own (tests/postgres/postgres.sh),
# checked against the whole client history. Minutes; stops what it starts.
#   bench/nemesis.sh [--seconds 60] [--runs 3] [--seeds 100,101]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-release
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target chatd chatd-usersig >/dev/null
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
state=$(mktemp /tmp/chatd-nemesis-pg-XXXXXX)
postgres="$PWD/tests/postgres/postgres.sh"
trap '"$postgres" stop "$state"' EXIT
"$postgres" start "$state"
export CHATD_TEST_POSTGRES_STATE="$state"
export CHATD_BIN="$PWD/$BUILD/server/chatd" CHATD_USERSIG_BIN="$PWD/$BUILD/tools/chatd-usersig"
cd tests/e2e
node ../../bench/nemesis.mjs "$@"
