#!/usr/bin/env bash
# Runs examples/tls_server and examples/tls_client against each other and
# checks that both succeed and that both handshakes really pended on the
# asynccrypt device.
#
# Usage: run_tls_example.sh SERVER CLIENT GEN_CERTS CERT_DIR [option...]
# The options (-v 12|13, -k rsa|ecc, -m) go to both programs. The device is
# whatever ASYNCCRYPT_DEVICE selects.
set -euo pipefail

if [[ $# -lt 4 ]]; then
  echo "usage: $0 SERVER CLIENT GEN_CERTS CERT_DIR [option...]" >&2
  exit 2
fi
server=$1 client=$2 gen_certs=$3 cert_dir=$4
shift 4
readonly limit=60  # seconds each program may run

"$gen_certs" "$cert_dir" >/dev/null

work=$(mktemp -d)
server_pid=
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Created before the server starts, so the port loop never reads a missing
# file (the background redirect may not have happened yet).
: >"$work/server.out"
# --foreground: see "bounded" in scripts/lib/perf-server.sh (plain timeout's
# SIGCONT can hang LeakSanitizer's exit check under ASan).
timeout --foreground --kill-after=10 "$limit" "$server" -p 0 -d "$cert_dir" "$@" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

# Wait for "listening on port N"; the server prints it once bound.
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's/^tls_server: listening on port \([0-9][0-9]*\)$/\1/p' "$work/server.out" || true)
  [[ -n $port ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.05
done
if [[ -z $port ]]; then
  echo "FAIL: the server never reported its port" >&2
  cat "$work/server.out" "$work/server.err" >&2
  exit 1
fi

client_rc=0
timeout --foreground --kill-after=10 "$limit" "$client" -p "$port" -d "$cert_dir" "$@" >"$work/client.out" \
  2>"$work/client.err" || client_rc=$?
# The server is done once the client is; if the client never connected it
# would sit in accept(), so give it a short grace period, then stop it.
for _ in $(seq 1 100); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
kill "$server_pid" 2>/dev/null || true
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=

echo "--- server (exit $server_rc)"
cat "$work/server.out" "$work/server.err"
echo "--- client (exit $client_rc)"
cat "$work/client.out" "$work/client.err"

status=0
if [[ $server_rc -ne 0 || $client_rc -ne 0 ]]; then
  echo "FAIL: server exited $server_rc, client exited $client_rc" >&2
  status=1
fi
for side in server client; do
  n=$(sed -n 's/^handshake_pending=\([0-9][0-9]*\)$/\1/p' "$work/$side.out")
  if [[ -z $n || $n -le 0 ]]; then
    echo "FAIL: the $side handshake never pended on the device (handshake_pending=${n:-?})" >&2
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "PASS: both handshakes pended and the messages matched"
exit $status
