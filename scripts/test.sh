#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 box (as root), builds, and runs every
# test through CTest: doctest unit tests and end-to-end tests against real
# chatd processes on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
./scripts/build.sh build-test Debug
cd build-test
ctest --output-on-failure -j "$(nproc)" "$@"
