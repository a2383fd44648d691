#!/usr/bin/env bash
# lsan_sigcont.sh: reproduces the hang of an ASan-built perf-server at exit
# when it is stopped through a plain `timeout` (docs/robustness.md, "A perf
# server that did not exit under ASan").
#
#   lsan_sigcont.sh TOOL CERT_DIR MODE [RUNS]
# TOOL: an asynccrypt tool built with ASan (build/asan/tools/asynccrypt);
# CERT_DIR: scripts/gen-certs.sh's output; MODE: plain (timeout's default)
# or foreground (timeout --foreground, what the scripts use). Each run starts
# perf-server under `timeout 60`, sends SIGTERM to timeout once it listens
# and gives the server 10 s to exit; one that does not is killed and counted.
# Prints "MODE: H hangs in RUNS". Run it beside a CPU hog (stress-ng --cpu
# $(nproc)): the window is the time between LeakSanitizer's ptrace attach
# and the thread's stop, which load widens.
set -uo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 TOOL CERT_DIR plain|foreground [RUNS]" >&2; exit 2; }
tool=$1 mode=$3 runs=${4:-100}
export ASYNCCRYPT_CERTS=$2
case $mode in
plain) wrap=(timeout 60) ;;
foreground) wrap=(timeout --foreground 60) ;;
*) echo "$0: MODE is plain or foreground" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hangs=0
for i in $(seq 1 "$runs"); do
  : >"$work/out"
  "${wrap[@]}" "$tool" perf-server -p 0 -d sim:skip=3 -n 0 -v 4 >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 200); do
    grep -q 'listening on port' "$work/out" && break
    sleep 0.05
  done
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    hangs=$((hangs + 1))
    echo "run $i: perf-server still running 10 s after SIGTERM" >&2
    pkill -KILL -P "$pid"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
done
echo "$mode: $hangs hangs in $runs"
[[ $hangs -eq 0 ]]
