#!/usr/bin/env bash
# The TLS main job: perf-server and perf-client on loopback, TLS 1.3 full
# handshakes with an RSA-2048 server certificate (mutual authentication, as
# the original tools), once per device kind, rounds interleaved; prints one
# comparison table of medians.
#
#   scripts/run-main-job.sh            (after make wolfssl-fast)
#
# Environment: HANDSHAKES (per run, default 1500), CONCURRENCY (-N, 64),
# ROUNDS (3), DEVICES ("none sim threads"), CLIENT_DEVICE (the client's -d;
# default: the same device as the server), BUILD_PRESET (perf), JOBS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

handshakes=${HANDSHAKES:-1500}
concurrency=${CONCURRENCY:-64}
rounds=${ROUNDS:-3}
read -r -a devices <<<"${DEVICES:-none sim threads}"
preset=${BUILD_PRESET:-perf}
jobs=${JOBS:-$(nproc)}
cores=$(nproc)

if [[ ! -f build/wolfssl-fast/src/.libs/libwolfssl.a && $preset == perf ]]; then
  echo "run-main-job: build/wolfssl-fast is missing (make wolfssl-fast)" >&2
  exit 1
fi
echo "== build asynccrypt perf tools (preset $preset)"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target asynccrypt_tool -j "$jobs" >/dev/null
tool="$root/build/$preset/tools/asynccrypt"
scripts/gen-certs.sh build/certs >/dev/null
export ASYNCCRYPT_CERTS="$root/build/certs"

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

# field FILE NAME: a number from a tool's JSON line.
field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | tail -1; }

# run_one DEVICE ROUND: one server/client pair; appends a result line.
run_one() {
  local dev=$1 round=$2 cdev=${CLIENT_DEVICE:-$1} port=
  : >"$work/server.out"
  timeout 300 "$tool" perf-server -p 0 -n "$handshakes" -N "$concurrency" -d "$dev" -q --json \
    >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^perf-server: listening on port \([0-9][0-9]*\).*/\1/p' "$work/server.out" ||
      true)
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    cat "$work/server.err" >&2
    echo "run-main-job: perf-server ($dev) did not start" >&2
    exit 1
  fi
  if ! timeout 300 "$tool" perf-client -p "$port" -n "$handshakes" -N "$concurrency" -d "$cdev" \
    -q --json >"$work/client.out" 2>"$work/client.err"; then
    cat "$work/client.err" >&2
    echo "run-main-job: perf-client ($cdev) failed" >&2
    exit 1
  fi
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=
  if [[ $rc -ne 0 ]]; then
    cat "$work/server.err" >&2
    echo "run-main-job: perf-server ($dev) exited $rc" >&2
    exit 1
  fi
  local hs p99 scpu lcpu ccpu
  hs=$(field "$work/client.out" handshakes_per_sec)
  p99=$(field "$work/client.out" p99_ms)
  scpu=$(field "$work/server.out" cpu_s_per_handshake)
  lcpu=$(field "$work/server.out" loop_cpu_s_per_handshake)
  ccpu=$(field "$work/client.out" cpu_s_per_handshake)
  echo "$dev $hs $p99 $scpu $lcpu $ccpu" >>"$work/results"
  printf '   round %d %-8s %8.1f handshakes/s  p99 %7.2f ms  server %.3f ms/hs  loop %.3f ms/hs  client %.3f ms/hs\n' \
    "$round" "$dev" "$hs" "$p99" "$(awk "BEGIN{print $scpu*1000}")" \
    "$(awk "BEGIN{print $lcpu*1000}")" "$(awk "BEGIN{print $ccpu*1000}")"
}

echo "== TLS 1.3, RSA-2048 server and client certificates, full handshakes:" \
  "$handshakes per run, -N $concurrency, $rounds rounds, $cores cores shared by server and client"
: >"$work/results"
for round in $(seq 1 "$rounds"); do
  for dev in "${devices[@]}"; do
    run_one "$dev" "$round"
  done
done

# median DEVICE COLUMN: the median of one column over a device's rounds.
median() {
  awk -v d="$1" -v c="$2" '$1 == d { print $c }' "$work/results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "Medians of $rounds rounds (client device: ${CLIENT_DEVICE:-same as the server})"
printf '%-10s %12s %10s %14s %14s %14s %16s %10s\n' device handshakes/s p99_ms \
  server_ms/hs loop_ms/hs client_ms/hs machine_bound/s vs_none
base=
for dev in "${devices[@]}"; do
  hs=$(median "$dev" 2)
  [[ $dev == none ]] && base=$hs
  p99=$(median "$dev" 3)
  scpu=$(median "$dev" 4)
  lcpu=$(median "$dev" 5)
  ccpu=$(median "$dev" 6)
  awk -v dev="$dev" -v hs="$hs" -v p99="$p99" -v s="$scpu" -v l="$lcpu" -v c="$ccpu" \
    -v cores="$cores" -v base="${base:-}" 'BEGIN {
      bound = (s + c) > 0 ? cores / (s + c) : 0
      ratio = base != "" && base > 0 ? sprintf("%.2fx", hs / base) : "-"
      printf "%-10s %12.1f %10.2f %14.3f %14.3f %14.3f %16.1f %10s\n",
             dev, hs, p99, s * 1000, l * 1000, c * 1000, bound, ratio
    }'
done
echo
echo "server_ms/hs: whole server process CPU per handshake (getrusage); loop_ms/hs: its"
echo "event-loop thread only; machine_bound/s = $cores cores / (server + client CPU per handshake)."
