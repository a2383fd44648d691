#!/usr/bin/env bash
# The TLS main job: perf-server and perf-client on loopback, TLS 1.3 full
# handshakes with an RSA-2048 server certificate, once per device kind of
# the server, rounds interleaved; prints one comparison table of medians per
# authentication mode:
#   server  the server authenticates, the client does not (the web's case;
#           the client then costs about a third of the server per handshake)
#   mutual  both present RSA-2048 certificates (as the original tools): the
#           client costs as much as the server, so on 2 cores the client
#           alone takes one core and no server device can go past `none`
# The client stays synchronous (-d none) unless CLIENT_DEVICE says otherwise,
# so that only the server changes from row to row. After the tables, a
# baseline: Debian 12's nginx (OpenSSL 3.0, 1 worker, TLS 1.3, the same
# RSA-2048 certificate) loaded by the same client with --http
# (scripts/nginx-baseline.sh; fetched with apt-get download, never installed;
# "nginx: skipped (reason)" where that is impossible; NGINX=0 leaves it out).
#
#   scripts/run-main-job.sh            (after make wolfssl-fast; make wolfssl-hsm for the HSM rows)
#
# Environment: HANDSHAKES (per run, default 1500), CONCURRENCY (-N, 64),
# ROUNDS (3), DEVICES ("none sim threads"),
# AUTHS ("server ecdsa mutual server-busy mutual-busy": see below),
# CLIENT_DEVICE (the client's -d, default none), BUILD_PRESET (perf), JOBS,
# HSM (1: the HSM rows of scripts/hsm-bench.sh follow, with its HSM_*
# settings; 0: not).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/perf-server.sh
. "$root/scripts/lib/perf-server.sh"
# shellcheck source=scripts/lib/json.sh
. "$root/scripts/lib/json.sh"
cd "$root"

handshakes=${HANDSHAKES:-1500}
concurrency=${CONCURRENCY:-64}
rounds=${ROUNDS:-3}
read -r -a devices <<<"${DEVICES:-none sim threads}"
# server: server authentication, RSA-2048 certificate; ecdsa: the same with
# the ECDSA P-256 certificate; mutual: both sides sign (RSA-2048); a -busy
# suffix runs the server's loop as the original's perf server does
# (perf-server --busy-poll: epoll_wait without a timeout, then the queue's
# poll, again and again).
read -r -a auths <<<"${AUTHS:-server ecdsa mutual server-busy mutual-busy}"
client_device=${CLIENT_DEVICE:-none}
preset=${BUILD_PRESET:-perf}
jobs=${JOBS:-$(nproc)}
cores=$(nproc)

fast_tree="build/wolfssl-${WOLFSSL_VERSION:-5.9.2}-fast"
if [[ ! -f $fast_tree/src/.libs/libwolfssl.a && $preset == perf ]]; then
  echo "run-main-job: $fast_tree is missing (make wolfssl-fast)" >&2
  exit 1
fi
echo "== build asynccrypt perf tools (preset $preset)"
cmake --preset "$preset" ${WOLFSSL_VERSION:+-DASYNCCRYPT_WOLFSSL_DIR="$root/$fast_tree"} >/dev/null
cmake --build --preset "$preset" --target asynccrypt_tool -j "$jobs" >/dev/null
tool="$root/build/$preset/tools/asynccrypt"
scripts/gen-certs.sh build/certs >/dev/null
export ASYNCCRYPT_CERTS="$root/build/certs"

work=$(mktemp -d)
server_pid=
trap 'stop_perf_server "$server_pid"; rm -rf "$work"' EXIT

# field FILE NAME: a value of a tool's JSON object (scripts/lib/json.sh).
field() { json_field "$1" "$2"; }

# run_one AUTH DEVICE ROUND: one server/client pair; appends a result line.
run_one() {
  local auth=$1 dev=$2 round=$3 port='' auth_flag=() cert_flag=() loop_flag=()
  [[ ${auth%-busy} == server || $auth == ecdsa ]] && auth_flag=(--no-client-cert)
  [[ $auth == ecdsa ]] &&
    cert_flag=(-c "$ASYNCCRYPT_CERTS/server-ecc-cert.pem" -k "$ASYNCCRYPT_CERTS/server-ecc-key.pem")
  [[ $auth == *-busy ]] && loop_flag=(--busy-poll)
  : >"$work/server.out"
  "${bounded[@]}" 300 "$tool" perf-server -p 0 -n "$handshakes" -N "$concurrency" -d "$dev" -q --json \
    "${auth_flag[@]}" "${cert_flag[@]}" "${loop_flag[@]}" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  port=$(perf_server_port "$work/server.out" "$server_pid")
  if [[ -z $port ]]; then
    cat "$work/server.err" >&2
    echo "run-main-job: perf-server ($dev) did not start" >&2
    exit 1
  fi
  if ! "${bounded[@]}" 300 "$tool" perf-client -p "$port" -n "$handshakes" -N "$concurrency" \
    -d "$client_device" "${auth_flag[@]}" -q --json >"$work/client.out" 2>"$work/client.err"; then
    cat "$work/client.err" >&2
    echo "run-main-job: perf-client ($client_device) failed" >&2
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
  echo "$auth $dev $hs $p99 $scpu $lcpu $ccpu" >>"$work/results"
  printf '   %-6s round %d %-8s %8.1f handshakes/s  p99 %7.2f ms  server %.3f ms/hs  loop %.3f ms/hs  client %.3f ms/hs\n' \
    "$auth" "$round" "$dev" "$hs" "$p99" "$(awk "BEGIN{print $scpu*1000}")" \
    "$(awk "BEGIN{print $lcpu*1000}")" "$(awk "BEGIN{print $ccpu*1000}")"
}

# run_nginx ROUND: the nginx baseline (scripts/nginx-baseline.sh) for one
# round, server authentication only; appends to $work/nginx-results. Once
# nginx turns out to be unavailable (status 3) it says so and is skipped.
nginx_skip=
run_nginx() {
  [[ -n $nginx_skip ]] && return 0
  local rc=0
  scripts/nginx-baseline.sh "$tool" "$handshakes" "$concurrency" >"$work/nginx.out" \
    2>"$work/nginx.err" || rc=$?
  if [[ $rc -eq 3 ]]; then
    nginx_skip=$(tail -n 1 "$work/nginx.err" | sed 's/^nginx-baseline: //')
    return 0
  fi
  if [[ $rc -ne 0 ]]; then
    cat "$work/nginx.err" >&2
    echo "run-main-job: nginx-baseline exited $rc" >&2
    exit 1
  fi
  local hs p99 scpu ccpu
  hs=$(field "$work/nginx.out" handshakes_per_sec)
  p99=$(field "$work/nginx.out" p99_ms)
  scpu=$(field "$work/nginx.out" cpu_s_per_handshake)
  ccpu=$(field "$work/nginx.out" client_cpu_s_per_handshake)
  echo "$hs $p99 $scpu $ccpu" >>"$work/nginx-results"
  printf '   %-6s round %d %-8s %8.1f handshakes/s  p99 %7.2f ms  server %.3f ms/hs  client %.3f ms/hs\n' \
    server "$1" nginx "$hs" "$p99" "$(awk "BEGIN{print $scpu*1000}")" \
    "$(awk "BEGIN{print $ccpu*1000}")"
}

# nginx_summary: the medians of the nginx rounds, or why there are none.
nginx_summary() {
  echo
  if [[ -n $nginx_skip ]]; then
    echo "nginx: skipped ($nginx_skip)"
    return
  fi
  local col meds=()
  for col in 1 2 3 4; do
    meds+=("$(awk -v c="$col" '{ print $c }' "$work/nginx-results" | sort -g |
      awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')")
  done
  echo "Baseline, server authentication: Debian 12's nginx (OpenSSL 3.0), 1 worker, the same"
  echo "client with --http (a GET and a 3-byte reply instead of 16 KiB each way); medians of"
  echo "$rounds rounds; server_ms/hs: the worker process (/proc)"
  printf '%-10s %11s %8s %11s %11s\n' server handshakes/s p99_ms server_ms/hs client_ms/hs
  printf '%-10s %11.1f %8.2f %11.3f %11.3f\n' nginx "${meds[0]}" "${meds[1]}" \
    "$(awk "BEGIN{print ${meds[2]}*1000}")" "$(awk "BEGIN{print ${meds[3]}*1000}")"
}

# median AUTH DEVICE COLUMN: the median of one column over the rounds.
median() {
  awk -v a="$1" -v d="$2" -v c="$3" '$1 == a && $2 == d { print $c }' "$work/results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# table AUTH: the medians of every device, with ratios to none.
table() {
  local auth=$1 base_hs='' base_s='' base_l=''
  echo
  local what="${auth%-busy} authentication, RSA-2048 certificate"
  [[ $auth == ecdsa ]] && what="server authentication, ECDSA P-256 certificate"
  [[ $auth == *-busy ]] && what="$what, server loop spinning (--busy-poll)"
  echo "Medians of $rounds rounds, $what (client device: $client_device)"
  printf '%-10s %11s %8s %11s %9s %11s %10s %9s %9s %9s\n' device handshakes/s p99_ms \
    server_ms/hs loop_ms/hs client_ms/hs bound/s of_bound vs_none server_vs_none
  for dev in "${devices[@]}"; do
    local hs p99 scpu lcpu ccpu
    hs=$(median "$auth" "$dev" 3)
    p99=$(median "$auth" "$dev" 4)
    scpu=$(median "$auth" "$dev" 5)
    lcpu=$(median "$auth" "$dev" 6)
    ccpu=$(median "$auth" "$dev" 7)
    if [[ $dev == none ]]; then
      base_hs=$hs base_s=$scpu base_l=$lcpu
    fi
    awk -v dev="$dev" -v hs="$hs" -v p99="$p99" -v s="$scpu" -v l="$lcpu" -v c="$ccpu" \
      -v cores="$cores" -v bh="${base_hs:-}" -v bs="${base_s:-}" -v bl="${base_l:-}" 'BEGIN {
        bound = (s + c) > 0 ? cores / (s + c) : 0
        of_bound = bound > 0 ? sprintf("%.2f", hs / bound) : "-"
        vs = bh != "" && bh > 0 ? sprintf("%.2fx", hs / bh) : "-"
        sv = bs != "" && bs > 0 ? sprintf("%.2fx", s / bs) : "-"
        lv = bl != "" && bl > 0 ? sprintf("%.2fx", l / bl) : "-"
        printf "%-10s %11.1f %8.2f %11.3f %5.3f %-5s %11.3f %10.1f %9s %9s %9s\n",
               dev, hs, p99, s * 1000, l * 1000, "(" lv ")", c * 1000, bound, of_bound, vs, sv
      }'
  done
}

echo "== TLS 1.3 full handshakes (wolfSSL ${WOLFSSL_VERSION:-5.9.2}), RSA-2048 and ECDSA P-256 server certificates: $handshakes per run," \
  "-N $concurrency, $rounds rounds, $cores cores shared by server and client"
: >"$work/results"
for round in $(seq 1 "$rounds"); do
  for auth in "${auths[@]}"; do
    for dev in "${devices[@]}"; do
      run_one "$auth" "$dev" "$round"
    done
  done
  [[ ${NGINX:-1} == 1 ]] && run_nginx "$round"
done
for auth in "${auths[@]}"; do
  table "$auth"
done
[[ ${NGINX:-1} == 1 ]] && nginx_summary
echo
echo "server_ms/hs: whole server process CPU per handshake (getrusage); loop_ms/hs: its"
echo "event-loop thread only (in brackets: ratio to none); bound/s = $cores cores / (server +"
echo "client CPU per handshake), the most this machine could do at those costs; of_bound ="
echo "handshakes/s / bound/s; vs_none and server_vs_none: ratios to the none row."

# The HSM rows: the server's key in a SoftHSM2 token, wolfSSL's synchronous
# PKCS#11 code against the pkcs11 device (scripts/hsm-bench.sh, on the hsm
# configuration; its client is this job's). HSM=0 leaves them out; where
# SoftHSM2 is missing the script says so and exits 77.
if [[ ${HSM:-1} == 1 ]]; then
  echo
  hsm_rc=0
  CLIENT_TOOL="$tool" scripts/hsm-bench.sh || hsm_rc=$?
  if [[ $hsm_rc -ne 0 && $hsm_rc -ne 77 ]]; then
    echo "run-main-job: hsm-bench exited $hsm_rc" >&2
    exit "$hsm_rc"
  fi
fi
