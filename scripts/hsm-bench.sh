#!/usr/bin/env bash
# The HSM rows of the main job: perf-server with its RSA-2048 key in a
# SoftHSM2 token, TLS 1.3 full handshakes with server authentication from
# perf-client on loopback, in four cells, rounds interleaved:
#   sync     wolfSSL's own synchronous PKCS#11 code signs in the event loop
#            (perf-server --key-pkcs11-sync; the loop waits for each signature)
#   pkcs11   our pkcs11 device signs on its workers (--key-device), the loop
#            goes on serving other connections
# each with the token as it is (0 us) and behind the test-only latency
# module (build/.../libp11_delay.so, ASYNCCRYPT_P11_DELAY_US=2000): 2 ms per
# private-key call, as a network HSM's round trip. Everything else the
# server computes (ECDHE, the record layer) stays in its loop (-d none), so
# only the key's path changes between cells. Prints each run and a table of
# medians with ratios pkcs11/sync.
#
#   scripts/hsm-bench.sh              (after make wolfssl-hsm)
#
# Environment: HSM_HANDSHAKES (per run, default 1000), HSM_CONCURRENCY (-N,
# 64), HSM_ROUNDS (3), HSM_DELAYS_US ("0 2000"), HSM_WORKERS (the device's
# workers, 8), CLIENT_TOOL (the perf-client to use; default the one built
# here: scripts/run-main-job.sh passes its faster build), JOBS.
# Exits 77 with the reason where SoftHSM2 or p11-kit's header is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/perf-server.sh
. "$root/scripts/lib/perf-server.sh"
# shellcheck source=scripts/lib/json.sh
. "$root/scripts/lib/json.sh"
# shellcheck source=scripts/lib/softhsm.sh
. "$root/scripts/lib/softhsm.sh"
cd "$root"

handshakes=${HSM_HANDSHAKES:-1000}
concurrency=${HSM_CONCURRENCY:-64}
rounds=${HSM_ROUNDS:-3}
read -r -a delays <<<"${HSM_DELAYS_US:-0 2000}"
workers=${HSM_WORKERS:-8}
jobs=${JOBS:-$(nproc)}
cores=$(nproc)
version=${WOLFSSL_VERSION:-5.9.2}

skip() {
  echo "hsm-bench: skipped ($1)"
  exit 77
}
tree="build/wolfssl-$version-hsm"
if [[ ! -f $tree/src/.libs/libwolfssl.a ]]; then
  echo "hsm-bench: $tree is missing (make wolfssl-hsm)" >&2
  exit 1
fi
missing=$(softhsm_missing)
[[ -z $missing ]] || skip "$missing"
module=$(softhsm_module)

build="build/hsm-bench-$version"
echo "== build perf tools and the latency module against $tree (Release, $build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DASYNCCRYPT_WOLFSSL_DIR="$root/$tree" \
  -DASYNCCRYPT_BUILD_TESTS=OFF -DASYNCCRYPT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target asynccrypt_tool -j "$jobs" >/dev/null
cmake --build "$build" --target p11_delay -j "$jobs" >/dev/null 2>&1 ||
  skip "no latency module: p11-kit's pkcs11.h is missing (apt-get install libp11-kit-dev)"
tool="$root/$build/tools/asynccrypt"
delay_module="$root/$build/tools/p11_delay/libp11_delay.so"
client_tool=${CLIENT_TOOL:-$tool}
scripts/gen-certs.sh build/certs >/dev/null
certs="$root/build/certs"
export ASYNCCRYPT_CERTS=$certs

work=$(mktemp -d)
server_pid=
trap 'stop_perf_server "$server_pid"; rm -rf "$work"' EXIT
# A token of our own (scripts/lib/softhsm.sh): the system's are never touched.
softhsm_token "$work" hsm-bench
softhsm_import "$work" hsm-bench "$certs/server-rsa-key.pem" bench-rsa 0a
export ASYNCCRYPT_P11_DELAY_MODULE=$module

field() { json_field "$1" "$2"; }

# run_one PATH DELAY_US ROUND: one server/client pair; appends a result line.
run_one() {
  local path=$1 delay=$2 round=$3 port='' mod=$module key_flags=()
  [[ $delay != 0 ]] && mod=$delay_module
  local spec="pkcs11:module=$mod,token=hsm-bench,pin-file=$work/pin,workers=$workers"
  [[ $path == sync ]] && key_flags=(--key-pkcs11-sync)
  : >"$work/server.out"
  ASYNCCRYPT_P11_DELAY_US=$delay "${bounded[@]}" 300 "$tool" perf-server -p 0 -n "$handshakes" \
    -N "$concurrency" -d none -q --json --no-client-cert -c "$certs/server-rsa-cert.pem" \
    --key-device "$spec" --key-id 0a "${key_flags[@]}" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  port=$(perf_server_port "$work/server.out" "$server_pid" 30)
  if [[ -z $port ]]; then
    cat "$work/server.err" >&2
    echo "hsm-bench: perf-server ($path, $delay us) did not start" >&2
    exit 1
  fi
  if ! "${bounded[@]}" 300 "$client_tool" perf-client -p "$port" -n "$handshakes" -N "$concurrency" \
    -d none --no-client-cert -q --json >"$work/client.out" 2>"$work/client.err"; then
    cat "$work/client.err" >&2
    echo "hsm-bench: perf-client failed ($path, $delay us)" >&2
    exit 1
  fi
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=
  if [[ $rc -ne 0 ]]; then
    cat "$work/server.err" >&2
    echo "hsm-bench: perf-server ($path, $delay us) exited $rc" >&2
    exit 1
  fi
  # Every handshake's signature was made on the token.
  local ops
  ops=$(sed -n 's/^perf-server: key [a-z0-9 -]*: \([0-9]*\) operations.*/\1/p' "$work/server.err")
  if [[ -z $ops || $ops -lt $handshakes ]]; then
    cat "$work/server.err" >&2
    echo "hsm-bench: the token made ${ops:-no} signatures for $handshakes handshakes ($path)" >&2
    exit 1
  fi
  local hs p99 scpu ccpu
  hs=$(field "$work/client.out" handshakes_per_sec)
  p99=$(field "$work/client.out" p99_ms)
  scpu=$(field "$work/server.out" cpu_s_per_handshake)
  ccpu=$(field "$work/client.out" cpu_s_per_handshake)
  echo "$path $delay $hs $p99 $scpu $ccpu" >>"$work/results"
  printf '   round %d %-6s %5d us %8.1f handshakes/s  p99 %8.2f ms  server %.3f ms/hs  client %.3f ms/hs  token ops %d\n' \
    "$round" "$path" "$delay" "$hs" "$p99" "$(awk "BEGIN{print $scpu*1000}")" \
    "$(awk "BEGIN{print $ccpu*1000}")" "$ops"
}

# median PATH DELAY COLUMN: the median of one column over the rounds.
median() {
  awk -v p="$1" -v d="$2" -v c="$3" '$1 == p && $2 == d { print $c }' "$work/results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== HSM: TLS 1.3 full handshakes (wolfSSL $version, hsm configuration), RSA-2048 key in a" \
  "SoftHSM2 token, server authentication: $handshakes per run, -N $concurrency, $rounds rounds," \
  "device workers $workers, $cores cores shared by server, token and client"
: >"$work/results"
for round in $(seq 1 "$rounds"); do
  for delay in "${delays[@]}"; do
    for path in sync pkcs11; do
      run_one "$path" "$delay" "$round"
    done
  done
done

echo
echo "Medians of $rounds rounds (server: -d none, key on the token; client: -d none)"
printf '%-8s %6s %11s %8s %11s %11s %9s %12s\n' delay_us path handshakes/s p99_ms server_ms/hs \
  client_ms/hs bound/s pkcs11/sync
for delay in "${delays[@]}"; do
  sync_hs=$(median sync "$delay" 3)
  for path in sync pkcs11; do
    hs=$(median "$path" "$delay" 3)
    p99=$(median "$path" "$delay" 4)
    scpu=$(median "$path" "$delay" 5)
    ccpu=$(median "$path" "$delay" 6)
    awk -v d="$delay" -v p="$path" -v hs="$hs" -v p99="$p99" -v s="$scpu" -v c="$ccpu" \
      -v cores="$cores" -v sh="$sync_hs" 'BEGIN {
        bound = (s + c) > 0 ? cores / (s + c) : 0
        ratio = p == "pkcs11" && sh > 0 ? sprintf("%.2fx", hs / sh) : "-"
        printf "%-8s %6s %11.1f %8.2f %11.3f %11.3f %9.1f %12s\n",
               d, p, hs, p99, s * 1000, c * 1000, bound, ratio
      }'
  done
done
echo
echo "sync: wolfSSL's PKCS#11 code (--key-pkcs11-sync, one session, the loop waits);"
echo "pkcs11: the pkcs11 device ($workers workers, a session each); delay_us: the latency"
echo "module's sleep before each private-key call (0: SoftHSM2 directly); server_ms/hs:"
echo "the server process's CPU per handshake, SoftHSM2 included; bound/s = $cores cores /"
echo "(server + client CPU per handshake), the most this machine could do at those costs."
