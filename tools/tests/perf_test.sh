#!/usr/bin/env bash
# Tests of `asynccrypt perf-server` and `perf-client` on loopback: against
# each other, against curl and openssl s_client / s_server, with clients
# that abort mid-handshake, and with no server at all; and `asynccrypt
# bench`'s symmetric rows on a device (scenario bench).
#
# Usage: perf_test.sh TOOL CERT_DIR SCENARIO DEVICE [VERSION] [extra client options]
#   SCENARIO  pair | pair-threads | interop-clients | interop-s_server | abort |
#             abort-free-now | no-server | bad-ca | cert-dir | chaos-fail | bench |
#             hostile | stalled-server | emfile | drain-exit
#   DEVICE    none | sim | threads | any spec the tools take with -d
#             (a dpdk spec, or chaos over=dpdk, exits 77 = skipped when DPDK
#             cannot start here, 1 under ASYNCCRYPT_REQUIRE_DPDK=1: see dpdk_probe)
#   VERSION   3 (TLS 1.2) or 4 (TLS 1.3), default 4
# The certificates come from scripts/gen-certs.sh CERT_DIR (ASYNCCRYPT_CERTS).
set -euo pipefail

if [[ $# -lt 4 ]]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
tool=$1 certs=$2 scenario=$3 device=$4
version=${5:-4}
shift $(($# < 5 ? $# : 5))
extra=("$@")
export ASYNCCRYPT_CERTS=$certs
# shellcheck source=scripts/lib/perf-server.sh
. "$(dirname "$0")/../../scripts/lib/perf-server.sh"
# shellcheck source=scripts/lib/json.sh
. "$(dirname "$0")/../../scripts/lib/json.sh"
# shellcheck source=scripts/lib/dpdk-skip.sh
. "$(dirname "$0")/../../scripts/lib/dpdk-skip.sh"
readonly limit=60 # seconds any one program may run

work=$(mktemp -d)
server_pid=
trap 'stop_perf_server "$server_pid"; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.out "$work"/*.err; do
    [[ -s $f ]] && { echo "--- $(basename "$f")"; tail -40 "$f"; }
  done >&2
  exit 1
}

# start_server ARGS...: starts perf-server on a free port; sets $port.
start_server() {
  : >"$work/server.out"
  : >"$work/server.err"
  "${bounded[@]}" "$limit" "$tool" perf-server -p 0 -d "$device" "$@" >"$work/server.out" \
    2>"$work/server.err" &
  server_pid=$!
  port=$(perf_server_port "$work/server.out" "$server_pid")
  [[ -n $port ]] || fail "the server never reported its port"
}

# wait_server: waits for the server to exit and checks its status.
wait_server() {
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=
  [[ $rc -eq 0 ]] || fail "perf-server exited $rc"
}

# wait_line FILE REGEX SECONDS: waits (bounded) until a line of FILE matches.
wait_line() {
  local _
  for _ in $(seq 1 $(($3 * 20))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

peers=$(dirname "$0")/hostile_peers.py


# server_errors: the server's Errors row.
server_errors() {
  sed -n 's/^Errors *: *\([0-9][0-9]*\)$/\1/p' "$work/server.err"
}

run_client() {
  "${bounded[@]}" "$limit" "$tool" perf-client -p "$port" -d "$device" -v "$version" "$@" \
    >"$work/client.out" 2>"$work/client.err"
}

# dpdk_probe: a device spec that needs DPDK must be able to start here, or
# the test ends through dpdk_unavailable (skipped, exit 77, saying why; a
# failure under ASYNCCRYPT_REQUIRE_DPDK=1): `asynccrypt bench` leaves out a
# device that cannot start (ASYNC_INIT_E), printing "skipped: ..." with the
# reason.
dpdk_probe() {
  [[ $device == *dpdk* ]] || return 0
  local out rc=0
  out=$("${bounded[@]}" "$limit" "$tool" bench --devices "$device" --algs aes-gcm --no-sw --depth 1 \
    --duration 0.01 2>&1) || rc=$?
  if grep -q '^skipped: cannot open device' <<<"$out"; then
    grep '^skipped: cannot open device' <<<"$out"
    dpdk_unavailable "$scenario on $device: DPDK cannot start here"
  fi
  [[ $rc -eq 0 ]] || fail "asynccrypt bench on $device exited $rc: $out"
}
dpdk_probe

case $scenario in
pair | pair-threads)
  # Server and client against each other: every handshake must complete.
  # PERF_EXPECT_SUITE (part of an IANA suite name, e.g. AES_128_CBC): the
  # server prints the suites it negotiated, each must contain it.
  n=40
  threads=()
  [[ $scenario == pair-threads ]] && threads=(-t 2)
  quiet=(-q)
  [[ -n ${PERF_EXPECT_SUITE:-} ]] && quiet=()
  # PERF_SERVER_ARGS: more server options (another certificate, say).
  read -r -a server_args <<<"${PERF_SERVER_ARGS:-}"
  start_server -n "$n" -v "$version" "${quiet[@]}" --json "${threads[@]}" "${server_args[@]}"
  read -r -a client_args <<<"${PERF_CLIENT_ARGS:-}"
  run_client -n "$n" -N 8 -q --json "${extra[@]}" "${client_args[@]}" || fail "perf-client exited $?"
  wait_server
  got=$(json_field "$work/client.out" connections)
  [[ $got == "$n" ]] || fail "client completed $got of $n handshakes"
  [[ $(json_field "$work/client.out" errors) == 0 ]] || fail "client errors"
  [[ $(json_field "$work/server.out" connections) == "$n" ]] || fail "server handshake count"
  [[ $(json_field "$work/server.out" errors) == 0 ]] || fail "server errors"
  # Application data went both ways, every byte arrived.
  c_w=$(json_field "$work/client.out" write_bytes) s_r=$(json_field "$work/server.out" read_bytes)
  s_w=$(json_field "$work/server.out" write_bytes) c_r=$(json_field "$work/client.out" read_bytes)
  [[ $c_w -gt 0 && $c_w == "$s_r" ]] || fail "client wrote $c_w bytes, server read $s_r"
  [[ $s_w -gt 0 && $s_w == "$c_r" ]] || fail "server wrote $s_w bytes, client read $c_r"
  echo "data: client wrote $c_w, read $c_r bytes"
  if [[ -n ${PERF_EXPECT_SUITE:-} ]]; then
    suites=$(sed -n 's/^SSL cipher suite is //p' "$work/server.out" | sort -u)
    [[ -n $suites ]] || fail "the server printed no cipher suite"
    while read -r suite; do
      [[ $suite == *"$PERF_EXPECT_SUITE"* ]] || fail "negotiated $suite, want *$PERF_EXPECT_SUITE*"
    done <<<"$suites"
    echo "suite: $suites"
  fi
  if [[ " ${extra[*]} " == *" -r "* && $version == 3 ]]; then
    resumed=$(json_field "$work/client.out" resumed)
    [[ $resumed -gt 0 ]] || fail "-r: no session was resumed"
    echo "resumed $resumed of $n"
  fi
  sed -n '1,40p' "$work/client.err"
  ;;

interop-clients)
  # curl and openssl s_client: handshake, request, full response, per version.
  for v in 4 3; do
    start_server -n 2 -v "$v" --http -W 3000
    if [[ $v == 4 ]]; then
      curl_v=(--tlsv1.3) sc_v=-tls1_3
    else
      curl_v=(--tlsv1.2 --tls-max 1.2) sc_v=-tls1_2
    fi
    got=$(curl -sS --max-time 20 --cacert "$certs/ca-cert.pem" "${curl_v[@]}" -o "$work/body" \
      --resolve "localhost:$port:127.0.0.1" \
      -w '%{http_code} %{size_download}' "https://localhost:$port/" 2>"$work/curl.err") ||
      fail "curl -v $v failed"
    [[ $got == "200 3000" ]] || fail "curl -v $v got '$got', want '200 3000'"
    printf 'GET / HTTP/1.0\r\n\r\n' |
      timeout 20 openssl s_client -connect "127.0.0.1:$port" "$sc_v" -servername localhost \
        -CAfile "$certs/ca-cert.pem" -verify_return_error -quiet >"$work/s_client.body" \
        2>"$work/s_client.err" || fail "openssl s_client $sc_v failed"
    grep -q '^HTTP/1.1 200 OK' "$work/s_client.body" || fail "s_client $sc_v: no HTTP status"
    size=$(($(wc -c <"$work/s_client.body") - $(sed '/^\r$/q' "$work/s_client.body" | wc -c)))
    [[ $size == 3000 ]] || fail "s_client $sc_v read a body of $size bytes, want 3000"
    wait_server
    [[ $(server_errors) == 0 ]] || fail "server counted errors with -v $v"
    echo "curl and openssl s_client ($sc_v): ok"
  done
  ;;

interop-groups)
  # TLS 1.3 peers of other libraries, each offering a single key-exchange
  # group (so that one is negotiated) against perf-server: curl and openssl
  # s_client (OpenSSL) and gnutls-cli (GnuTLS). PERF_GROUPS names the groups
  # (default P-256).
  read -r -a groups <<<"${PERF_GROUPS:-P-256}"
  command -v gnutls-cli >/dev/null || fail "gnutls-cli is missing (scripts/setup.sh installs gnutls-bin)"
  start_server -n $((3 * ${#groups[@]})) -v 4 --http -W 3000
  request=$'GET / HTTP/1.0\r\n\r\n'
  for g in "${groups[@]}"; do
    case $g in
      P-256) ossl=P-256 gnu=SECP256R1 ;;
      X25519) ossl=X25519 gnu=X25519 ;;
      *) fail "no OpenSSL/GnuTLS name for group $g" ;;
    esac
    got=$(curl -sS --max-time 20 --cacert "$certs/ca-cert.pem" --tlsv1.3 --curves "$ossl" \
      -o "$work/body" --resolve "localhost:$port:127.0.0.1" \
      -w '%{http_code} %{size_download}' "https://localhost:$port/" 2>"$work/curl.err") ||
      fail "curl with $g failed"
    [[ $got == "200 3000" ]] || fail "curl with $g got '$got', want '200 3000'"
    printf '%s' "$request" |
      timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -groups "$ossl" \
        -servername localhost -CAfile "$certs/ca-cert.pem" -verify_return_error -quiet \
        >"$work/s_client.body" 2>"$work/s_client.err" || fail "openssl s_client with $g failed"
    grep -q '^HTTP/1.1 200 OK' "$work/s_client.body" || fail "s_client with $g: no HTTP status"
    printf '%s' "$request" |
      timeout 20 gnutls-cli --x509cafile "$certs/ca-cert.pem" --port "$port" \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-$gnu" localhost \
        >"$work/gnutls.out" 2>"$work/gnutls.err" || fail "gnutls-cli with $g failed"
    grep -q '^HTTP/1.1 200 OK' "$work/gnutls.out" || fail "gnutls-cli with $g: no HTTP status"
    grep -q -- "- Description: (TLS1.3.*)-(ECDHE-$gnu)" "$work/gnutls.out" ||
      fail "gnutls-cli did not negotiate $gnu: $(grep -- '- Description' "$work/gnutls.out")"
    echo "curl, openssl s_client and gnutls-cli with $g: ok"
  done
  wait_server
  [[ $(server_errors) == 0 ]] || fail "server counted errors"
  ;;

interop-s_server)
  # perf-client against openssl s_server -www (one HTTP page per connection).
  sv=-tls1_3
  [[ $version == 3 ]] && sv=-tls1_2
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    : >"$work/s_server.out"
    openssl s_server -accept "$port" -naccept 6 -www "$sv" -cert "$certs/server-rsa-cert.pem" \
      -key "$certs/server-rsa-key.pem" >"$work/s_server.out" 2>"$work/s_server.err" &
    server_pid=$!
    # Up to 20 s for s_server to listen: it takes milliseconds, but a
    # loaded machine can keep a new process off the CPU for seconds, and a
    # server still starting when this gives up is waited for below until
    # CTest's timeout.
    for _ in $(seq 1 400); do
      grep -q '^ACCEPT' "$work/s_server.out" && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.05
    done
    grep -q '^ACCEPT' "$work/s_server.out" && break
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  done
  [[ -n $server_pid ]] || fail "openssl s_server did not start"
  run_client -n 6 -N 2 --http --json --no-client-cert "${extra[@]}" ||
    fail "perf-client against s_server exited $?"
  [[ $(json_field "$work/client.out" connections) == 6 ]] || fail "not 6 handshakes"
  [[ $(json_field "$work/client.out" read_bytes) -gt 1000 ]] || fail "no page read"
  grep -E '^(Num Conns|Total Read)' "$work/client.err"
  ;;

abort | abort-free-now)
  # Clients that vanish mid-handshake (reset or close, after 1..4 steps, 0..3
  # ms later) while the server's crypto is in flight; then normal clients
  # must still be served, and the server must stop cleanly on SIGTERM.
  # abort-free-now makes the server free such connections at once, with
  # their operation pending (asynccrypt cancels it).
  free_now=()
  [[ $scenario == abort-free-now ]] && free_now=(--free-pending-now)
  start_server -n 0 -v "$version" -N 64 "${free_now[@]}"
  run_client -n 80 -N 16 --abort-handshake 4 -q || fail "aborting client exited $?"
  grep -E '^Aborted' "$work/client.err" || fail "the client aborted nothing"
  run_client -n 30 -N 8 -q --json || fail "perf-client after the aborts exited $?"
  [[ $(json_field "$work/client.out" connections) == 30 ]] || fail "normal clients failed"
  kill -TERM "$server_pid"
  wait_server
  grep -E '^(Num Conns|Errors|Pending at hangup)' "$work/server.err"
  ;;

chaos-fail)
  # Both tools on a chaos device that fails some operations (WC_HW_E): the
  # failed connections are counted (Errors row, "errors" in --json) and the
  # tools go on. Both must finish: the server with status 0, the client with
  # 1 (its documented status when connections failed) and the message.
  n=60
  start_server -n "$n" -v "$version" -q --json
  rc=0
  run_client -n "$n" -N 8 -q --json "${extra[@]}" || rc=$?
  wait_server
  c_ok=$(json_field "$work/client.out" connections)
  c_err=$(json_field "$work/client.out" errors)
  s_ok=$(json_field "$work/server.out" connections)
  s_err=$(json_field "$work/server.out" errors)
  echo "client: $c_ok completed, $c_err failed (exit $rc); server: $s_ok completed, $s_err failed"
  [[ -n $c_ok && -n $s_ok ]] || fail "a tool printed no report"
  [[ $rc -eq 0 || $rc -eq 1 ]] || fail "perf-client exited $rc"
  [[ $c_err -gt 0 && $s_err -gt 0 ]] || fail "no failed connection counted on both sides"
  [[ $c_ok -gt 0 && $s_ok -gt 0 ]] || fail "no handshake succeeded"
  # A connection may fail after its handshake (record encryption fails
  # too), so it counts both as a handshake and as an error.
  [[ $c_err -le $n && $((c_ok + c_err)) -ge $n ]] || fail "client: $c_ok + $c_err, want $n"
  [[ $s_err -le $n && $((s_ok + s_err)) -ge $n ]] || fail "server: $s_ok + $s_err, want $n"
  if [[ $rc -eq 1 ]]; then
    grep -qE "perf-client: $c_err of $n connections failed; first: .*\((-248|-308)\)" \
      "$work/client.err" || fail "no clear message from the client"
  fi
  grep -E '^(Num Conns|Errors)' "$work/server.err" "$work/client.err"
  grep 'connections failed' "$work/client.err" || true
  ;;

hostile)
  # Silent peers, slow ones (a record that trickles in), peers that finish
  # the handshake and then say nothing, and half-closed ones, more of them
  # than -N: the handshake and idle timeouts close every one, so the
  # listener re-arms and a normal client is served while they still hold
  # their sockets. Without the timeouts the silent ones keep all -N slots
  # and the client is never served.
  start_server -n 0 -N 4 -v 4 --no-client-cert --handshake-timeout 1000 --idle-timeout 1000 \
    --json
  timeout 30 python3 "$peers" clients "$port" "$certs/ca-cert.pem" 4 2 2 2 6 \
    >"$work/peers.out" 2>"$work/peers.err" &
  peers_pid=$!
  wait_line "$work/peers.out" '^ready' 20 || fail "the hostile peers never connected"
  run_client -n 20 -N 2 -v 4 --no-client-cert -q --json ||
    fail "perf-client beside hostile peers exited $?"
  [[ $(json_field "$work/client.out" connections) == 20 ]] || fail "normal clients failed"
  wait "$peers_pid" || fail "hostile_peers.py exited $?"
  closed=$(sed -n 's/^closed_by_server //p' "$work/peers.out")
  [[ $closed == 10 ]] || fail "the server closed $closed of the 10 hostile peers"
  kill -TERM "$server_pid"
  wait_server
  timeouts=$(json_field "$work/server.out" timeouts)
  # 4 silent + 2 slow (handshake), 2 idle; the half-closed fail on EOF.
  [[ $timeouts -ge 8 ]] || fail "the server counted $timeouts timeouts, want 8 or more"
  echo "hostile peers: $closed closed by the server, $timeouts timeouts; 20 clients served"
  ;;

stalled-server)
  # A server that accepts and never answers: the client gives up after its
  # handshake timeout, says why and exits 1, instead of waiting for ever.
  timeout 30 python3 "$peers" stall-server 20 >"$work/stall.out" 2>"$work/stall.err" &
  stall_pid=$!
  wait_line "$work/stall.out" '^port ' 10 || fail "the stalling server never listened"
  port=$(sed -n 's/^port //p' "$work/stall.out")
  t0=$(date +%s)
  rc=0
  run_client -n 3 -N 2 --handshake-timeout 1000 --json || rc=$?
  elapsed=$(($(date +%s) - t0))
  kill "$stall_pid" 2>/dev/null || true
  wait "$stall_pid" 2>/dev/null || true
  [[ $rc -eq 1 ]] || fail "perf-client against a stalled server exited $rc, want 1"
  grep -q 'first: handshake timed out' "$work/client.err" || fail "no timeout message"
  [[ $(json_field "$work/client.out" timeouts) == 3 ]] || fail "want 3 timeouts"
  [[ $elapsed -le 15 ]] || fail "the client took $elapsed s"
  echo "stalled server: 3 timeouts in ${elapsed}s"
  ;;

emfile)
  # The server runs out of descriptors (ulimit -n 48, 80 silent peers and
  # no handshake timeout): accept must pause, not spin on EMFILE, and serve
  # again once descriptors are free.
  : >"$work/server.out"
  (ulimit -n 48 && exec "${bounded[@]}" "$limit" "$tool" perf-server -p 0 -d "$device" -n 0 -N 200 \
    --no-client-cert --handshake-timeout 0 --json >"$work/server.out" 2>"$work/server.err") &
  server_pid=$!
  port=$(perf_server_port "$work/server.out" "$server_pid")
  [[ -n $port ]] || fail "the server never reported its port"
  spid=$(pgrep -n -P "$server_pid")
  timeout 30 python3 "$peers" clients "$port" "$certs/ca-cert.pem" 80 0 0 0 4 \
    >"$work/peers.out" 2>"$work/peers.err" &
  peers_pid=$!
  wait_line "$work/peers.out" '^ready' 20 || fail "the silent peers never connected"
  sleep 0.5
  ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
  c0=$(ticks)
  sleep 2
  c1=$(ticks)
  hz=$(getconf CLK_TCK)
  # A spinning accept burns the whole 2 s; a paused one almost nothing.
  [[ $((c1 - c0)) -le $((hz / 2)) ]] || fail "the server used $((c1 - c0)) ticks of CPU in 2 s"
  wait "$peers_pid" || fail "hostile_peers.py exited $?"
  run_client -n 5 -N 1 --no-client-cert -q --json || fail "perf-client after EMFILE exited $?"
  kill -TERM "$server_pid"
  wait_server
  backoffs=$(json_field "$work/server.out" accept_backoffs)
  [[ $backoffs -gt 0 ]] || fail "no accept back-off counted"
  echo "EMFILE: $((c1 - c0)) ticks in 2 s, $backoffs back-offs, then 5 clients served"
  ;;

drain-exit)
  # The server stops (SIGTERM) with crypto in flight at workers and
  # --drain-timeout 0, so it frees those connections without waiting for
  # their operations: each free must still wait for a worker's running
  # operation (SslPtr drains), or the worker may write into freed memory.
  # (With the drain removed, 3 ASan runs on wolfSSL 5.9.2 did not show it:
  # this scenario exercises the path; cxx_wolfssl_handles_test's
  # SslPtrDrainsBeforeItFrees is the check that fails without the drain.)
  start_server -n 0 -N 64 -v "$version" --drain-timeout 0 -q --json
  "${bounded[@]}" "$limit" "$tool" perf-client -p "$port" -d none -v "$version" -n 100000 -N 32 -q \
    >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  sleep 1.5
  kill -TERM "$server_pid"
  wait_server
  kill "$client_pid" 2>/dev/null || true
  wait "$client_pid" 2>/dev/null || true
  [[ -n $(json_field "$work/server.out" connections) ]] || fail "the server printed no report"
  grep -E '^(Num Conns|Errors)' "$work/server.err"
  ;;

bench)
  # `asynccrypt bench` rows of DEVICE: AES-GCM and AES-CBC, 1 and 16 KiB,
  # encrypt and decrypt, 1 and 8 in flight. The bench checks every result
  # against synchronous wolfCrypt (a wrong one fails its row: "ok": false);
  # every operation must have gone to the device.
  "${bounded[@]}" "$limit" "$tool" bench --algs aes-gcm,aes-cbc --devices "$device" --depth 1,8 \
    --duration 0.05 --json >"$work/bench.out" 2>"$work/bench.err" || fail "asynccrypt bench exited $?"
  rows=$(jq --arg d "$device" '[.[] | select(.device == $d)] | length' "$work/bench.out") ||
    fail "no JSON from asynccrypt bench"
  [[ $rows == 16 ]] || fail "$rows device rows, want 16"
  failed=$(jq -c '.[] | select(.ok == false)' "$work/bench.out")
  [[ -z $failed ]] || fail "a row failed: $failed"
  jq -e --arg d "$device" 'all(.[] | select(.device == $d); .offloaded == 1)' "$work/bench.out" \
    >/dev/null || fail "a row ran operations outside the device"
  jq -r '.[] | "algorithm: \(.algorithm), op: \(.op), bits_or_bytes: \(.bits_or_bytes)" +
    " device: \(.device), depth: \(.depth) mib_per_sec: \(.mib_per_sec)"' "$work/bench.out"
  ;;

no-server)
  # Nothing listens on the port: a non-zero exit and a clear message.
  port=1
  rc=0
  run_client -n 2 || rc=$?
  [[ $rc -ne 0 ]] || fail "perf-client succeeded with no server"
  grep -q 'cannot connect to 127.0.0.1:1: .*is the server running' "$work/client.err" ||
    fail "no clear message"
  cat "$work/client.err"
  ;;

cert-dir)
  # Where the tools find their default certificates without -c/-k/-A: a copy
  # of the tool, away from the build tree, with ASYNCCRYPT_CERTS unset.
  mkdir -p "$work/bin" "$work/run"
  cp "$tool" "$work/bin/asynccrypt"
  tool=$work/bin/asynccrypt
  certs=$(cd "$certs" && pwd)
  cd "$work/run"
  unset ASYNCCRYPT_CERTS
  rc=0
  "${bounded[@]}" "$limit" "$tool" perf-server -p 0 -d "$device" >"$work/server.out" \
    2>"$work/server.err" || rc=$?
  [[ $rc -eq 2 ]] || fail "perf-server without certificates exited $rc, want 2"
  grep -q 'no certificate directory found: set ASYNCCRYPT_CERTS' "$work/server.err" ||
    fail "no message naming ASYNCCRYPT_CERTS"
  head -1 "$work/server.err"
  # certs/ beside the executable.
  ln -s "$certs" "$work/bin/certs"
  start_server -n 2 -v "$version" -q
  run_client -n 2 -N 1 -q || fail "perf-client with certs/ beside it exited $?"
  wait_server
  rm "$work/bin/certs"
  # ./certs in the current directory.
  ln -s "$certs" "$work/run/certs"
  start_server -n 2 -v "$version" -q
  run_client -n 2 -N 1 -q || fail "perf-client with ./certs exited $?"
  wait_server
  rm "$work/run/certs"
  # An explicit ASYNCCRYPT_CERTS that holds nothing fails loudly.
  rc=0
  ASYNCCRYPT_CERTS=$work/run/missing "${bounded[@]}" "$limit" "$tool" perf-server -p 0 -d "$device" \
    >"$work/server.out" 2>"$work/server.err" || rc=$?
  [[ $rc -ne 0 ]] || fail "perf-server started with an empty ASYNCCRYPT_CERTS"
  grep -q "cannot load certificate $work/run/missing/server-rsa-cert.pem" "$work/server.err" ||
    fail "no message naming the missing certificate"
  cd /
  ;;

bad-ca)
  # The client trusts the wrong CA: every handshake fails, exit non-zero.
  start_server -n 3 -v "$version" -q
  rc=0
  run_client -n 3 -N 1 -A "$certs/server-ecc-cert.pem" || rc=$?
  [[ $rc -ne 0 ]] || fail "perf-client succeeded although no handshake could"
  grep -q 'perf-client: 3 of 3 connections failed' "$work/client.err" || fail "no clear message"
  wait_server
  grep 'connections failed' "$work/client.err"
  ;;

*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac
echo "PASS: $scenario on $device"
