#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 box (as root) and runs chatd on its
# embedded default config: one demo app, WebSocket on 127.0.0.1:8080,
# metrics on 127.0.0.1:9464, state in ./var. Extra arguments go to chatd.
# CHATD_BUILD_DIR and CHATD_BUILD_TYPE (default build, RelWithDebInfo) pick
# another build folder: the README test runs this script on the test build.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${CHATD_BUILD_DIR:-build}
./scripts/install-deps.sh
./scripts/build.sh "$build_dir" "${CHATD_BUILD_TYPE:-RelWithDebInfo}" \
  chatd chatd-usersig chatctl chat-loadgen chat-bots
exec "$build_dir/server/chatd" "$@"
