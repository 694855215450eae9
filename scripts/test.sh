#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 box (as root), builds, and runs every
# test through CTest: doctest unit tests and end-to-end tests against real
# chatd processes on 127.0.0.1.
#   scripts/test.sh [--sanitize address,undefined | --sanitize thread] [ctest args...]
# With --sanitize, everything (chatd, the tools, the tests) is built with
# those sanitizers in build-<sanitizers>/ and any report fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=${2:?--sanitize needs address,undefined or thread}
  shift 2
fi
./scripts/install-deps.sh
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error)
build_dir=build-test
if [ -n "$sanitize" ]; then
  build_dir="build-${sanitize//,/-}"
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=0"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/ubsan.supp"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
fi
CHATD_SANITIZE="$sanitize" CHATD_WERROR=ON ./scripts/build.sh "$build_dir" Debug
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" "$@"
