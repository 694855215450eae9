#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang-14 under ASan+UBSan and runs
# each for SECONDS (default 60) on a copy of its seed corpus (fuzz/corpus/).
# A crash, leak or sanitizer report fails the script and leaves the input in
# build-fuzz/findings/<target>/. Bounded in time; runs nothing on the network.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(websocket_frame native_frame usersig sdk_frame a2 config rest)
./scripts/install-deps.sh
build=build-fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
  -DCHATD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j "$(nproc)" $(printf -- '--target fuzz_%s ' "${targets[@]}")
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# fuzz_rest keeps a whole chatd's state in a temporary folder: under the build.
export TMPDIR="$PWD/$build/tmp"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  echo "== fuzz_$t for ${seconds}s"
  # The CPU time each target got (the machine may be busy with more).
  TIMEFORMAT="cpu_seconds %U user %S system, %R wall"
  if ! { time "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" 2> "$build/fuzz_$t.log"; } \
       2> "$build/fuzz_$t.time"; then
    echo "fuzz_$t FAILED: see $build/fuzz_$t.log and $findings/" >&2
    tail -40 "$build/fuzz_$t.log" >&2
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov: " "$build/fuzz_$t.log" | tail -3
  cat "$build/fuzz_$t.time"
done
exit $status
