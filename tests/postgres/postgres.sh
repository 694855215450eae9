#!/usr/bin/env bash
# A real PostgreSQL server for the tests, in a temporary folder, on
# 127.0.0.1 and a free port; never the machine's own cluster.
#   postgres.sh start STATE_FILE   initdb + pg_ctl start; writes "URL DIR" to STATE_FILE
#   postgres.sh stop STATE_FILE    pg_ctl stop and remove the folder
# initdb refuses root: as root, the server runs as the `postgres` user
# (Debian's postgresql-15 package creates it). CTest runs these as a
# fixture (tests/CMakeLists.txt: FIXTURES_SETUP / FIXTURES_CLEANUP postgres).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
action=${1:?start or stop}
state_file=${2:?state file}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
  dir=$(mktemp -d /tmp/chatd-postgres-XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  as_owner "$bin/initdb" -D "$dir/data" -U chatd -A trust --no-sync -E UTF8 >"$dir/initdb.log"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" >/dev/null
  echo "postgresql://chatd@127.0.0.1:$port/postgres $dir" >"$state_file"
  ;;
stop)
  [ -f "$state_file" ] || exit 0
  read -r _ dir <"$state_file"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir" "$state_file"
  ;;
*)
  echo "usage: $0 start|stop STATE_FILE" >&2
  exit 2
  ;;
esac
