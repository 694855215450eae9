#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 box (as root) and runs chatd on its
# embedded default config: one demo app, WebSocket on 127.0.0.1:8080,
# metrics on 127.0.0.1:9464, state in ./var. Extra arguments go to chatd.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build RelWithDebInfo chatd chatd-usersig chatctl chat-loadgen chat-bots
exec ./build/server/chatd "$@"
