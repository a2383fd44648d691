#!/usr/bin/env bash
# perf-server and perf-client under valgrind (memcheck, full leak check),
# both at once, on loopback: short runs that cover normal handshakes on a
# worker device, failure injection (chaos fail=5, failed connections
# counted), and clients that abort mid-handshake.
#
#   scripts/valgrind-check.sh [TOOL]     TOOL default: build/dev/tools/asynccrypt
#
# A memory error or a definite/indirect leak in either program fails the
# run (valgrind exits 99; its report is printed). About a minute here
# (2 cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/perf-server.sh
. "$root/scripts/lib/perf-server.sh"
# shellcheck source=scripts/lib/json.sh
. "$root/scripts/lib/json.sh"
tool="${1:-$root/build/dev/tools/asynccrypt}"
export ASYNCCRYPT_CERTS="${ASYNCCRYPT_CERTS:-$root/build/certs}"
command -v valgrind >/dev/null || { echo "valgrind-check: valgrind is not installed" >&2; exit 2; }
[[ -x $tool ]] || { echo "valgrind-check: no tool at $tool (build the dev preset)" >&2; exit 2; }
[[ -f $ASYNCCRYPT_CERTS/ca-cert.pem ]] || "$root/scripts/gen-certs.sh" "$ASYNCCRYPT_CERTS" >/dev/null

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck disable=SC2054  # the commas belong to valgrind's option values
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --num-callers=30)

fail() {
  echo "valgrind-check: FAIL: $*" >&2
  for f in "$work"/*.vg "$work"/*.err; do
    [[ -s $f ]] && { echo "--- $(basename "$f")"; tail -60 "$f"; }
  done >&2
  exit 1
}

# run NAME DEVICE VERSION SERVER_N CLIENT_ARGS...: one server and one client,
# both under valgrind. SERVER_N 0: the server runs until SIGTERM.
run() {
  local name=$1 device=$2 version=$3 server_n=$4
  shift 4
  local t0=$SECONDS
  : >"$work/server.out"
  "${bounded[@]}" 300 "${vg[@]}" --log-file="$work/$name-server.vg" "$tool" perf-server -p 0 -d "$device" \
    -v "$version" -n "$server_n" -q --json -R 1024 -W 1024 >"$work/server.out" \
    2>"$work/$name-server.err" &
  server_pid=$!
  local port
  port=$(perf_server_port "$work/server.out" "$server_pid" 60)  # valgrind starts slowly
  [[ -n $port ]] || fail "$name: the server did not start"
  local crc=0
  "${bounded[@]}" 300 "${vg[@]}" --log-file="$work/$name-client.vg" "$tool" perf-client -p "$port" \
    -d "$device" -v "$version" -q --json -R 1024 -W 1024 "$@" >"$work/client.out" \
    2>"$work/$name-client.err" || crc=$?
  ((server_n == 0)) && kill -TERM "$server_pid"
  local src=0
  wait "$server_pid" || src=$?
  server_pid=
  ((src != 99)) || fail "$name: valgrind found errors in perf-server"
  ((crc != 99)) || fail "$name: valgrind found errors in perf-client"
  ((src == 0)) || fail "$name: perf-server exited $src"
  echo "valgrind-check: $name ($device, -v $version): client exit $crc," \
    "$(json_field "$work/client.out" connections) handshakes," \
    "$(json_field "$work/client.out" errors) errors, $(json_field "$work/client.out" aborted) aborted;" \
    "server $(json_field "$work/server.out" connections) handshakes," \
    "$(json_field "$work/server.out" errors) errors; $((SECONDS - t0))s"
  LAST_CLIENT_RC=$crc
}

start=$SECONDS
run threads threads:workers=2 4 32 -n 32 -N 4
((LAST_CLIENT_RC == 0)) || fail "threads: perf-client exited $LAST_CLIENT_RC"
run resume sim 3 24 -n 24 -N 3 -r
((LAST_CLIENT_RC == 0)) || fail "resume: perf-client exited $LAST_CLIENT_RC"
# Failed connections: the client exits 1 when it counted errors.
run chaos-fail "chaos:seed=7,fail=5" 4 40 -n 40 -N 4
((LAST_CLIENT_RC <= 1)) || fail "chaos-fail: perf-client exited $LAST_CLIENT_RC"
run chaos-fail-threads "chaos:seed=8,over=threads,workers=2,fail=5" 3 40 -n 40 -N 4
((LAST_CLIENT_RC <= 1)) || fail "chaos-fail-threads: perf-client exited $LAST_CLIENT_RC"
run abort-tls13 threads:workers=2 4 0 -n 40 -N 6 --abort-handshake 4 --abort-percent 50 --seed 3
((LAST_CLIENT_RC == 0)) || fail "abort-tls13: perf-client exited $LAST_CLIENT_RC"
run abort-tls12 sim:skip=3 3 0 -n 40 -N 6 --abort-handshake 4 --abort-percent 50 --seed 4
((LAST_CLIENT_RC == 0)) || fail "abort-tls12: perf-client exited $LAST_CLIENT_RC"
echo "valgrind-check: PASS in $((SECONDS - start))s"
