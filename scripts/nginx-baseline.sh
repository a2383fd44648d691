#!/usr/bin/env bash
# A baseline for the main job: Debian 12's nginx (OpenSSL 3.0), one worker,
# serving TLS 1.3 full handshakes with the same RSA-2048 certificate to our
# perf-client; measures the nginx worker's CPU per handshake.
#
#   scripts/nginx-baseline.sh TOOL HANDSHAKES CONCURRENCY
#
# TOOL is the asynccrypt binary (build/perf/tools/asynccrypt). Prints one JSON
# line on stdout:
#   {"server": "nginx", "handshakes_per_sec": X, "p99_ms": X,
#    "cpu_s_per_handshake": X, "client_cpu_s_per_handshake": X}
# where cpu_s_per_handshake is the worker's utime+stime (/proc/PID/stat) over
# the client's run divided by the handshakes the client completed, and the
# other fields come from perf-client's JSON. Diagnostics go to stderr.
#
# nginx is never installed: `apt-get download nginx nginx-common` fetches the
# packages into build/nginx/debs once, `dpkg-deb -x` unpacks them into
# build/nginx/root once; nothing is configured, no service starts. It runs
# from a temporary prefix with a generated configuration, on 127.0.0.1 and a
# free port, and is stopped (TERM, then KILL) on every exit path.
#
# Exit status: 0 done; 1 failure; 2 usage; 3 nginx is not available (no apt,
# or the download or unpacking failed), with a one-line reason on stderr.
# Environment: ASYNCCRYPT_CERTS (certificate directory, default build/certs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/json.sh
. "$root/scripts/lib/json.sh"

if [[ $# -ne 3 || ! $2 =~ ^[1-9][0-9]*$ || ! $3 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 TOOL HANDSHAKES CONCURRENCY" >&2
  exit 2
fi
tool=$1
handshakes=$2
concurrency=$3
if [[ ! -x $tool ]]; then
  echo "nginx-baseline: $tool is not an executable" >&2
  exit 1
fi
certs=${ASYNCCRYPT_CERTS:-$root/build/certs}
export ASYNCCRYPT_CERTS="$certs"
if [[ ! -f $certs/server-rsa-cert.pem || ! -f $certs/server-rsa-key.pem ||
  ! -f $certs/ca-cert.pem ]]; then
  "$root/scripts/gen-certs.sh" "$certs" >/dev/null
fi

# unavailable REASON: nginx cannot be had; the caller reports it as skipped.
unavailable() {
  echo "nginx-baseline: $1" >&2
  exit 3
}

# fetch_nginx: build/nginx/root/usr/sbin/nginx, downloaded and unpacked once.
fetch_nginx() {
  local dir=$root/build/nginx
  [[ -x $dir/root/usr/sbin/nginx ]] && return 0
  command -v apt-get >/dev/null || unavailable "no apt-get on this machine"
  command -v dpkg-deb >/dev/null || unavailable "no dpkg-deb on this machine"
  mkdir -p "$dir/debs"
  if ! compgen -G "$dir/debs/nginx_*.deb" >/dev/null ||
    ! compgen -G "$dir/debs/nginx-common_*.deb" >/dev/null; then
    echo "nginx-baseline: apt-get download nginx nginx-common" >&2
    # apt's sandbox user cannot write into our tree; download as the caller.
    if ! (cd "$dir/debs" && nice -n 10 apt-get download -o APT::Sandbox::User="$(id -un)" \
      nginx nginx-common >&2); then
      unavailable "apt-get download nginx nginx-common failed"
    fi
  fi
  # Unpack into a fresh directory and rename it, so that an interrupted run
  # never leaves a half-unpacked tree that later runs take as complete.
  rm -rf "$dir/root.tmp"
  mkdir -p "$dir/root.tmp"
  local deb
  for deb in "$dir"/debs/nginx_*.deb "$dir"/debs/nginx-common_*.deb; do
    nice -n 10 dpkg-deb -x "$deb" "$dir/root.tmp" || unavailable "dpkg-deb -x $deb failed"
  done
  [[ -x $dir/root.tmp/usr/sbin/nginx ]] || unavailable "the packages hold no usr/sbin/nginx"
  rm -rf "$dir/root"
  mv "$dir/root.tmp" "$dir/root"
}
fetch_nginx
nginx=$root/build/nginx/root/usr/sbin/nginx
if ! version=$("$nginx" -v 2>&1); then
  unavailable "the unpacked nginx does not run: $version"
fi
echo "nginx-baseline: $version" >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/nginx-baseline.XXXXXX")
master=
worker=
client=
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  if [[ -n $client ]] && kill -0 "$client" 2>/dev/null; then
    kill -TERM "$client" 2>/dev/null || true  # timeout passes it on to perf-client
    wait "$client" 2>/dev/null || true
  fi
  if [[ -n $master ]] && kill -0 "$master" 2>/dev/null; then
    kill -TERM "$master" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$master" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$master" 2>/dev/null; then
      echo "nginx-baseline: nginx did not stop on TERM; killing it" >&2
      kill -KILL "$master" 2>/dev/null || true
    fi
    wait "$master" 2>/dev/null || true
  fi
  # A worker whose master died first would otherwise linger.
  if [[ -n $worker ]] && kill -0 "$worker" 2>/dev/null; then
    kill -KILL "$worker" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# listening PORT: whether something listens on TCP PORT (IPv4 or IPv6).
listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() {
  local stat
  stat=$(<"/proc/$1/stat")
  # The fields after the ")" that ends comm: state is 3, utime 14, stime 15.
  stat=${stat##*) }
  awk '{ print $12 + $13 }' <<<"$stat"
}

# children PID: the process ids whose parent is PID.
children() {
  local f
  if [[ -r /proc/$1/task/$1/children ]]; then
    tr ' ' '\n' <"/proc/$1/task/$1/children" | sed '/^$/d'
    return
  fi
  for f in /proc/[0-9]*/stat; do
    awk -v parent="$1" '{ sub(/.*\) /, ""); if ($2 == parent) print FILENAME }' "$f" 2>/dev/null |
      sed 's|/proc/\([0-9]*\)/stat|\1|'
  done
}

# write_conf PORT: the configuration, every path inside $work.
write_conf() {
  local user_line=
  # Run as root, nginx would switch its worker to a compiled-in user that
  # need not exist here; name one that does (the worker needs no file: the
  # master reads the certificate and key).
  if [[ $EUID -eq 0 ]]; then
    user_line="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
  fi
  cat >"$work/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $work/nginx.pid;
lock_file $work/nginx.lock;
error_log stderr warn;
events {
  worker_connections 1024;
}
http {
  access_log off;
  client_body_temp_path $work/client_body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  keepalive_timeout 0;
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $certs/server-rsa-cert.pem;
    ssl_certificate_key $certs/server-rsa-key.pem;
    ssl_protocols TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / {
      default_type text/plain;
      return 200 "ok\n";
    }
  }
}
EOF
}

# start_nginx PORT: starts nginx on PORT and waits until it listens and its
# worker runs; fails (nginx stopped) otherwise.
start_nginx() {
  write_conf "$1"
  : >"$work/nginx.err"
  "$nginx" -p "$work/" -c "$work/nginx.conf" -e stderr 2>"$work/nginx.err" &
  master=$!
  for _ in $(seq 1 200); do
    if ! kill -0 "$master" 2>/dev/null; then
      wait "$master" 2>/dev/null || true
      master=
      return 1
    fi
    if listening "$1"; then
      worker=$(children "$master" | head -1)
      [[ -n $worker ]] && return 0
    fi
    sleep 0.05
  done
  echo "nginx-baseline: nginx did not listen on port $1 within 10 s" >&2
  return 1
}

# Pick a port that nothing listens on; another process can still take it
# first, so a bind failure tries the next one.
port=
base=$((20000 + RANDOM % 30000))
for attempt in $(seq 0 9); do
  candidate=$((base + attempt * 97))
  listening "$candidate" && continue
  if start_nginx "$candidate"; then
    port=$candidate
    break
  fi
  if ! grep -q "Address already in use" "$work/nginx.err"; then
    cat "$work/nginx.err" >&2
    echo "nginx-baseline: nginx did not start" >&2
    exit 1
  fi
  echo "nginx-baseline: port $candidate is taken; trying another" >&2
done
if [[ -z $port ]]; then
  echo "nginx-baseline: found no free port" >&2
  exit 1
fi
echo "nginx-baseline: nginx master $master, worker $worker, 127.0.0.1:$port" >&2

ticks_per_s=$(getconf CLK_TCK)
master0=$(cpu_ticks "$master")
worker0=$(cpu_ticks "$worker")
# The client runs in the background so that a signal to this script stops
# it at once (a foreground command would delay the trap until it ended).
timeout --foreground --kill-after=10 300 "$tool" perf-client -p "$port" -n "$handshakes" -N "$concurrency" -d none \
  --no-client-cert --http -q --json >"$work/client.out" 2>"$work/client.err" &
client=$!
client_rc=0
wait "$client" || client_rc=$?
client=
worker1=$(cpu_ticks "$worker")
master1=$(cpu_ticks "$master")
if [[ $client_rc -ne 0 ]]; then
  cat "$work/client.err" "$work/nginx.err" >&2
  echo "nginx-baseline: perf-client exited $client_rc" >&2
  exit 1
fi
if [[ -s $work/nginx.err ]]; then
  echo "nginx-baseline: nginx said:" >&2
  sed 's/^/  /' "$work/nginx.err" >&2
fi

# field NAME: a value of the client's JSON object (scripts/lib/json.sh).
field() { json_field "$work/client.out" "$1"; }
done_hs=$(field connections)
errors=$(field errors)
hs_per_s=$(field handshakes_per_sec)
p99=$(field p99_ms)
client_cpu=$(field cpu_s_per_handshake)
if [[ -z $done_hs || -z $hs_per_s || -z $p99 || -z $client_cpu ]]; then
  cat "$work/client.out" "$work/client.err" >&2
  echo "nginx-baseline: no JSON result from perf-client" >&2
  exit 1
fi
if [[ $done_hs -eq 0 || ${errors:-0} -ne 0 ]]; then
  cat "$work/client.err" >&2
  echo "nginx-baseline: $done_hs handshakes, ${errors:-?} errors" >&2
  exit 1
fi

awk -v w=$((worker1 - worker0)) -v m=$((master1 - master0)) -v t="$ticks_per_s" \
  -v n="$done_hs" 'BEGIN {
    printf "nginx-baseline: %d handshakes; worker CPU %.2f s (%.3f ms/hs), master CPU %.2f s\n",
           n, w / t, w / t / n * 1000, m / t > "/dev/stderr"
  }'
jq -nc --argjson w $((worker1 - worker0)) --argjson t "$ticks_per_s" --argjson n "$done_hs" \
  --argjson hs "$hs_per_s" --argjson p99 "$p99" --argjson c "$client_cpu" '{
    server: "nginx", handshakes_per_sec: $hs, p99_ms: $p99,
    cpu_s_per_handshake: ($w / $t / $n * 1e6 | round / 1e6), client_cpu_s_per_handshake: $c
  }'
