#!/usr/bin/env bash
# Soak test of the perf tools on loopback: one perf-server runs while rounds
# of perf-clients connect to it. Each round runs three clients side by side:
# full TLS 1.3 handshakes, TLS 1.2 with session resumption (-r; these builds
# have no TLS 1.3 tickets), and clients of which a random share aborts mid-
# handshake (--abort-handshake 4 --abort-percent P, seeded by the round).
#
#   scripts/soak.sh [TOOL]       TOOL default: build/dev/tools/asynccrypt
#
# Environment (defaults in brackets):
#   SOAK_HANDSHAKES   stop after this many completed client handshakes [50000]
#   SOAK_SECONDS      ... or after this many seconds, whichever comes first [180]
#   SOAK_ROUND        connections per client per round [400]
#   SOAK_DEVICE       device of the server and the clients [threads]
#   SOAK_SERVER_N     the server's concurrent connections (-N) [128]
#   SOAK_FULL_N       the full-handshake client's concurrent connections (-N) [16]
#   SOAK_ABORT_PERCENT  share of the aborting client's connections that abort [25]
#   SOAK_RSS_SLACK_KB   allowed growth of the server's RSS [16384]; -1: report only
#                       (sanitizer builds: ASan's quarantine holds freed memory)
#   SOAK_FD_SLACK       allowed growth of the server's descriptor count [0]
#   ASYNCCRYPT_CERTS  certificates (scripts/gen-certs.sh DIR) [build/certs]
#
# Checks: no client error (aborted connections are counted apart), no
# server error beyond the aborted connections, every client and the server
# exit cleanly, and the server's descriptor count and RSS, sampled whenever
# no client is connected (after each round), do not grow: the last sample
# may exceed the first (taken after the first round, when caches and pools
# have their working size) by at most the slack. Samples taken every half
# second during the rounds are reported (first/last/max), not judged.
# The server keeps each handshake's latency for its percentiles (8 bytes a
# handshake, in a vector that doubles): about 0.5 MB of growth per 50,000
# handshakes is expected; the default slack (16 MB) is far above that.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/perf-server.sh
. "$root/scripts/lib/perf-server.sh"
# shellcheck source=scripts/lib/json.sh
. "$root/scripts/lib/json.sh"
tool="${1:-$root/build/dev/tools/asynccrypt}"
target="${SOAK_HANDSHAKES:-50000}"
limit_s="${SOAK_SECONDS:-180}"
round_n="${SOAK_ROUND:-400}"
device="${SOAK_DEVICE:-threads}"
server_n="${SOAK_SERVER_N:-128}"
full_n="${SOAK_FULL_N:-16}"
abort_pct="${SOAK_ABORT_PERCENT:-25}"
rss_slack_kb="${SOAK_RSS_SLACK_KB:-16384}"
fd_slack="${SOAK_FD_SLACK:-0}"
export ASYNCCRYPT_CERTS="${ASYNCCRYPT_CERTS:-$root/build/certs}"
[[ -x $tool ]] || { echo "soak: no tool at $tool (build the dev preset)" >&2; exit 2; }
[[ -f $ASYNCCRYPT_CERTS/ca-cert.pem ]] || "$root/scripts/gen-certs.sh" "$ASYNCCRYPT_CERTS" >/dev/null

work=$(mktemp -d)
server_pid=''
sampler_pid=''
cleanup() {
  [[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "soak: FAIL: $*" >&2
  for f in "$work"/*.err; do [[ -s $f ]] && { echo "--- $(basename "$f")"; tail -25 "$f"; }; done >&2
  exit 1
}
fds() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0; }

# The server runs until SIGTERM (-n 0) and accepts TLS 1.2 and 1.3 (-a).
"${bounded[@]}" $((limit_s + 120)) "$tool" perf-server -p 0 -a -n 0 -N "$server_n" -R 1024 -W 1024 -q --json \
  -d "$device" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!  # timeout's; it passes SIGTERM on to the server
pid=          # the server's own, for /proc
port=$(perf_server_port "$work/server.out" "$server_pid")
[[ -z $port ]] || pid=$(awk '{print $1}' "/proc/$server_pid/task/$server_pid/children" 2>/dev/null)
[[ -n $port && -n $pid ]] || fail "the server did not start"

# Samples during the rounds: "fds rss" per line.
(while kill -0 "$pid" 2>/dev/null; do
  echo "$(fds) $(rss_kb)" >>"$work/busy.samples"
  sleep 0.5
done) &
sampler_pid=$!

client() { # NAME ARGS...
  local name=$1
  shift
  "${bounded[@]}" 300 "$tool" perf-client -p "$port" -d "$device" -R 1024 -W 1024 -q --json "$@" \
    >"$work/$name.out" 2>"$work/$name.err"
}

start=$(date +%s)
handshakes=0 resumed=0 aborted=0 client_errors=0 rounds=0
while ((handshakes < target && $(date +%s) - start < limit_s)); do
  rounds=$((rounds + 1))
  rc_a=0 rc_b=0 rc_c=0
  client full -v 4 -n "$round_n" -N "$full_n" & pa=$!
  client resume -v 3 -r -n "$round_n" -N 8 & pb=$!
  client abort -v $((3 + rounds % 2)) -n "$round_n" -N 8 --abort-handshake 4 \
    --abort-percent "$abort_pct" --seed "$rounds" & pc=$!
  wait $pa || rc_a=$?
  wait $pb || rc_b=$?
  wait $pc || rc_c=$?
  for name in full resume abort; do
    errs=$(json_field "$work/$name.out" errors)
    [[ -n $errs ]] || fail "round $rounds: client '$name' printed no report (exit $rc_a/$rc_b/$rc_c)"
    client_errors=$((client_errors + errs))
    handshakes=$((handshakes + $(json_field "$work/$name.out" connections)))
    resumed=$((resumed + $(json_field "$work/$name.out" resumed)))
    aborted=$((aborted + $(json_field "$work/$name.out" aborted)))
    ((errs == 0)) || fail "round $rounds: client '$name' counted $errs errors: $(grep 'connections failed' "$work/$name.err")"
  done
  ((rc_a == 0 && rc_b == 0 && rc_c == 0)) || fail "round $rounds: a client exited $rc_a/$rc_b/$rc_c"
  kill -0 "$server_pid" 2>/dev/null || fail "the server died"
  # Quiescent sample: no client connected; give the server a moment to
  # free what it holds (connections whose peer vanished mid-operation).
  sleep 0.3
  echo "$(fds) $(rss_kb)" >>"$work/idle.samples"
  ((rounds % 10 == 0)) && echo "soak: round $rounds, $handshakes handshakes, $(( $(date +%s) - start ))s, server $(tail -1 "$work/idle.samples")"
done
elapsed=$(($(date +%s) - start))

kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
((rc == 0)) || fail "perf-server exited $rc"
server_errors=$(json_field "$work/server.out" errors)
server_conns=$(json_field "$work/server.out" connections)

# first/last/max of column COL of FILE.
stats() { awk -v c="$2" 'NR==1{f=$c} {l=$c; if($c>m)m=$c} END{printf "first %d, last %d, max %d", f, l, m}' "$1"; }
first_fd=$(awk 'NR==1{print $1}' "$work/idle.samples")
last_fd=$(awk 'END{print $1}' "$work/idle.samples")
first_rss=$(awk 'NR==1{print $2}' "$work/idle.samples")
last_rss=$(awk 'END{print $2}' "$work/idle.samples")

echo "soak: $rounds rounds in ${elapsed}s on device $device"
echo "  client handshakes: $handshakes ($resumed resumed), aborted on purpose: $aborted, client errors: $client_errors"
echo "  server handshakes: $server_conns, server errors: $server_errors (allowed: <= $aborted aborted)"
echo "  server fds  idle: $(stats "$work/idle.samples" 1); busy: $(stats "$work/busy.samples" 1)"
echo "  server RSS  idle: $(stats "$work/idle.samples" 2) kB; busy: $(stats "$work/busy.samples" 2) kB"
((server_errors <= aborted)) || fail "server errors ($server_errors) beyond the aborted connections ($aborted)"
((server_conns >= handshakes)) || fail "the server counted $server_conns handshakes, the clients $handshakes"
((last_fd <= first_fd + fd_slack)) || fail "server descriptors grew from $first_fd to $last_fd"
((rss_slack_kb < 0 || last_rss <= first_rss + rss_slack_kb)) ||
  fail "server RSS grew from $first_rss kB to $last_rss kB (slack $rss_slack_kb kB)"
echo "soak: PASS"
