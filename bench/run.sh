#!/usr/bin/env bash
# chatd benchmarks on this machine: builds Release, starts chatd on
# 127.0.0.1, drives it with chat-loadgen, and writes bench/results/*.json
# and bench/RESULTS.md. Bounded in time; stops what it starts, by PID.
#   bench/run.sh [quick]      (quick: smaller counts, for a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=${1:-}
OUT=bench/results
mkdir -p "$OUT"
KEY=5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e
BUILD=build-release

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target chatd chat-loadgen chat-bots usersig_bench floor_server >/dev/null

STATE=$(mktemp -d /tmp/chatd-bench.XXXXXX)
CHATD_PID=""
cleanup() { [ -n "$CHATD_PID" ] && kill "$CHATD_PID" 2>/dev/null && wait "$CHATD_PID" 2>/dev/null; rm -rf "$STATE"; }
trap cleanup EXIT

cat > "$STATE/chatd.toml" <<TOML
[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
state_dir = "$STATE/state"
log_level = "warn"
idle_timeout_s = 600
max_connections_per_address = 1000000
max_logins_per_address_per_s = 1000000

[[app]]
sdkappid = 1400000000
secret_key = "$KEY"
max_web_instances = 1
max_devices_per_platform = 1
TOML

start_chatd() {
  [ -n "$CHATD_PID" ] && kill "$CHATD_PID" && wait "$CHATD_PID" 2>/dev/null || true
  rm -rf "$STATE/state"
  "$BUILD/server/chatd" --config "$STATE/chatd.toml" > "$STATE/listen.txt" 2> "$STATE/chatd.log" &
  CHATD_PID=$!
  for _ in $(seq 100); do grep -q listening "$STATE/listen.txt" 2>/dev/null && break; sleep 0.1; done
  GATEWAY=$(sed -n 's/.*gateway=\([^ ]*\).*/\1/p' "$STATE/listen.txt")
  if [ -z "$GATEWAY" ]; then
    echo "chatd did not start:" >&2
    cat "$STATE/chatd.log" >&2
    exit 1
  fi
  URL="ws://$GATEWAY/v1/ws"
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$CHATD_PID/status"; }

loadgen() { "$BUILD/tools/chat-loadgen" --url "$URL" --key "$KEY" "$@" 2>/dev/null; }

echo "== chatd against the floor server (pinned: chatd and the floor on core 1, chat-loadgen on core 0)"
python3 bench/versus_floor.py "$BUILD" ${QUICK:+--quick}

echo "== messages: chatd (durable) against the floor's in-memory relay"
python3 bench/messages.py "$BUILD" ${QUICK:+--quick}

echo "== UserSig verifications per second per core"
"$BUILD/bench/usersig_bench" 3 | tee "$OUT/usersig.json"

if [ "$QUICK" = quick ]; then SIZES="2000 4000"; CHURN_USERS=2000; RESIDENT=2000; else SIZES="5000 10000 19000"; CHURN_USERS=20000; RESIDENT=18500; fi

echo "== idle logged-in sessions held by one chatd, RSS per session"
echo "[" > "$OUT/idle_sessions.json"
first=1
for n in $SIZES; do
  start_chatd
  sleep 1
  base=$(rss_kib)
  loadgen --users "$n" --workers 2 --source-ips 8 --rate 4000/s --hold 8s --user-prefix idle \
    --json "$STATE/idle-$n.json" &
  LG=$!
  held=0
  for _ in $(seq 300); do
    sleep 0.2
    held=$(grep -c '"held"' /dev/null || true)
    online=$(curl -s "http://$(sed -n 's/.*metrics=\([^ ]*\).*/\1/p' "$STATE/listen.txt")/metrics" \
      | awk '/^chatd_online_instances/ {s += $2} END {print s + 0}')
    [ "$online" -ge "$n" ] && break
  done
  sleep 2
  rss=$(rss_kib)
  wait $LG || true
  per=$(( (rss - base) * 1024 / n ))
  [ $first = 1 ] || echo "," >> "$OUT/idle_sessions.json"
  first=0
  printf '{"sessions":%d,"online_seen":%d,"rss_baseline_kib":%d,"rss_held_kib":%d,"bytes_per_session":%d,"loadgen":%s}\n' \
    "$n" "$online" "$base" "$rss" "$per" "$(cat "$STATE/idle-$n.json")" >> "$OUT/idle_sessions.json"
  echo "  $n sessions: online $online, RSS $base -> $rss KiB, $per bytes/session"
done
echo "]" >> "$OUT/idle_sessions.json"

echo "== churn: login, ready, logout, close ($CHURN_USERS users, 20 s)"
start_chatd
loadgen --mode churn --users "$CHURN_USERS" --workers 2 --source-ips 8 --rate 40000/s --duration 20s \
  --max-in-flight 500 --user-prefix churn --json "$OUT/churn.json" | tail -6

echo "== kick latency with $RESIDENT resident sessions"
start_chatd
loadgen --users "$RESIDENT" --workers 2 --source-ips 8 --rate 4000/s --hold 40s --user-prefix resident \
  --json "$STATE/resident.json" &
LG=$!
for _ in $(seq 300); do
  sleep 0.2
  online=$(curl -s "http://$(sed -n 's/.*metrics=\([^ ]*\).*/\1/p' "$STATE/listen.txt")/metrics" \
    | awk '/^chatd_online_instances/ {s += $2} END {print s + 0}')
  [ "$online" -ge "$RESIDENT" ] && break
done
loadgen --mode kick-storm --users 400 --instances-per-user 2 --rate 200/s --hold 1s --user-prefix storm \
  --json "$OUT/kick_storm.json" | tail -6
wait $LG || true

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "{\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"kernel\":\"$(uname -r)\",\"build\":\"Release\",\"loadavg_after\":\"$LOAD\",\"date\":\"$(date -u +%FT%TZ)\"}" > "$OUT/machine.json"
command -v python3 >/dev/null && python3 bench/write_results.py && echo "wrote bench/RESULTS.md"
echo "results in $OUT/"
