#!/usr/bin/env bash
# Non-blocking ECC through the asynccrypt tool (make nonblock, in make test):
# TLS handshakes through the perf tools, and `asynccrypt bench`'s rows.
#
#   scripts/nonblock-check.sh TOOL [CERT_DIR]
#
# TOOL is an `asynccrypt` built against the nonblock configuration
# (--enable-ecc=nonblock --enable-sp=yes,nonblock). perf-server and
# perf-client run on the sim device with the ECDSA P-256 server certificate
# of scripts/gen-certs.sh, TLS 1.2 (ECDHE-ECDSA-AES128-GCM-SHA256) and TLS 1.3
# (TLS13-AES128-GCM-SHA256, ECDHE key share). For each version, one traced
# handshake (ASYNCCRYPT_TRACE=1) must show the server's ECDSA signature and
# the client's verification running in slices (many "-> -4" steps, each
# polled), then NCONN handshakes (default 100; $NONBLOCK_TLS_CONNS) must
# complete without an error, with and without a client certificate. Then a
# short `asynccrypt bench --json` of ECDSA P-256 must have a verified
# non-blocking row ("nonblock": true) with max_poll_us and p99_poll_us.
# TLS 1.3 also runs once with each key-share group named (--groups): P-256
# always, X25519 when NONBLOCK_X25519=1 (5.9: --enable-curve25519=nonblock);
# each key generation and shared secret must run in slices.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/perf-server.sh
. "$root/scripts/lib/perf-server.sh"
tool="$1"
certs="${2:-$root/build/certs}"
conns="${NONBLOCK_TLS_CONNS:-100}"
"$root/scripts/gen-certs.sh" "$certs" >/dev/null
work="$(mktemp -d)"
server_pid=""
trap 'stop_perf_server "$server_pid"; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.out; do
    [ -s "$f" ] && { echo "--- $(basename "$f")"; grep -v '^asynccrypt: ' "$f" | tail -30; }
  done >&2
  exit 1
}

# pair NAME VERSION SUITE N [options for both tools...]: a server for N
# connections and a client making them; output in NAME-{server,client}.out.
pair() {
  local name="$1" version="$2" suite="$3" n="$4" port=""
  shift 4
  "${bounded[@]}" 120 "$tool" perf-server -p 0 -d sim -v "$version" -l "$suite" -n "$n" \
    -c "$certs/server-ecc-cert.pem" -k "$certs/server-ecc-key.pem" -A "$certs/ca-cert.pem" "$@" \
    >"$work/$name-server.out" 2>&1 &
  server_pid=$!
  port="$(perf_server_port "$work/$name-server.out" "$server_pid")"
  [ -n "$port" ] || fail "$name: the server did not start"
  "${bounded[@]}" 120 "$tool" perf-client -p "$port" -d sim -v "$version" -l "$suite" -n "$n" -N 8 \
    -A "$certs/ca-cert.pem" "$@" >"$work/$name-client.out" 2>&1 || fail "$name: client failed"
  wait "$server_pid" || fail "$name: server failed"
  server_pid=""
  for side in server client; do
    grep -qE '^Errors +: +0$' "$work/$name-$side.out" || fail "$name: $side counted errors"
  done
}

# slices FILE OP: how many non-blocking steps of OP the trace shows.
slices() { grep -cE "^asynccrypt: $2 -> (-4|-99)$" "$1" || true; }

for version in 3 4; do
  if [ "$version" = 3 ]; then suite=ECDHE-ECDSA-AES128-GCM-SHA256; else suite=TLS13-AES128-GCM-SHA256; fi
  export ASYNCCRYPT_TRACE=1
  pair "trace$version" "$version" "$suite" 1 --no-client-cert
  unset ASYNCCRYPT_TRACE
  sign="$(slices "$work/trace$version-server.out" "ECC sign")"
  verify="$(slices "$work/trace$version-client.out" "ECC verify")"
  make="$(slices "$work/trace$version-server.out" "ECC make key")"
  ecdh="$(slices "$work/trace$version-server.out" "ECDH shared secret")"
  [ "$sign" -ge 1000 ] || fail "TLS 1.$((version - 1)): server signature not in slices ($sign steps)"
  [ "$verify" -ge 1000 ] || fail "TLS 1.$((version - 1)): client verification not in slices ($verify steps)"
  grep -qE "^SSL cipher suite is .*ECDSA|^SSL cipher suite is TLS_AES_128_GCM" \
    "$work/trace$version-client.out" || fail "TLS 1.$((version - 1)): unexpected suite"
  echo "TLS 1.$((version - 1)) $suite, ECDSA P-256, sim: one handshake in slices:" \
       "server sign $sign, client verify $verify, server key generation $make, server ECDH $ecdh steps"
  if [ "$version" = 4 ]; then
    # The default key share depends on the build (X25519 first where
    # curve25519 is on, the ML-KEM hybrid on 5.9): name each group instead.
    ASYNCCRYPT_TRACE=1 pair "trace-p256" 4 "$suite" 1 --no-client-cert --groups P-256
    make="$(slices "$work/trace-p256-server.out" "ECC make key")"
    ecdh="$(slices "$work/trace-p256-server.out" "ECDH shared secret")"
    if [ "$make" -lt 1000 ] || [ "$ecdh" -lt 1000 ]; then
      fail "TLS 1.3 P-256 key share not in slices (key generation $make, ECDH $ecdh steps)"
    fi
    echo "TLS 1.3 P-256 key share, sim: server key generation $make, server ECDH $ecdh steps"
    if [ "${NONBLOCK_X25519:-0}" = 1 ]; then
      ASYNCCRYPT_TRACE=1 pair "trace-x25519" 4 "$suite" 1 --no-client-cert --groups X25519
      make="$(slices "$work/trace-x25519-server.out" "X25519 make key")"
      ecdh="$(slices "$work/trace-x25519-server.out" "X25519 shared secret")"
      if [ "$make" -lt 1000 ] || [ "$ecdh" -lt 1000 ]; then
        fail "TLS 1.3 X25519 key share not in slices (key generation $make, shared secret $ecdh steps)"
      fi
      echo "TLS 1.3 X25519 key share, sim: server key generation $make, shared secret $ecdh steps"
    fi
  fi
  start=$(date +%s)
  pair "run$version" "$version" "$suite" "$conns" --no-client-cert
  pair "mutual$version" "$version" "$suite" "$conns"
  echo "TLS 1.$((version - 1)): 2 x $conns handshakes (server-only and mutual authentication)," \
       "no errors, $(($(date +%s) - start)) s"
done
bench="$("${bounded[@]}" 120 "$tool" bench --algs ecdsa-p256 --devices sim --depth 1 --duration 0.2 \
  --json 2>"$work/bench.out")" || { echo "$bench" >>"$work/bench.out"; fail "asynccrypt bench failed"; }
rows="$(jq '[.[] | select(.device == "sim" and .nonblock == true and .ok == true and
  .max_poll_us >= 0 and .p99_poll_us >= 0)] | length' <<<"$bench" || true)"
[ "$rows" = 2 ] || { echo "$bench" >"$work/bench.out"; fail "bench: expected 2 non-blocking rows, got $rows"; }
echo "asynccrypt bench: non-blocking ECDSA P-256 rows:"
jq -r '.[] | select(.nonblock == true) |
  "  \(.op): \(.vs_sync // "-") x blocking, poll p99 \(.p99_poll_us) us, max \(.max_poll_us) us"' <<<"$bench"
echo "nonblock: ok"
