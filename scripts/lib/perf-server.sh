# shellcheck shell=bash
# Helpers for scripts that run `asynccrypt perf-server`; sourced, not run.

# perf_server_port OUT PID [SECONDS]: waits up to SECONDS (default 10) for
# the perf-server whose stdout goes to OUT (PID: its process, or the timeout
# around it) to report its listening port, and prints the port; prints
# nothing when the server exits first or never reports it.
perf_server_port() {
  local out=$1 pid=$2 seconds=${3:-10} port=''
  for _ in $(seq 1 $((seconds * 20))); do
    port=$(sed -n 's/^perf-server: listening on port \([0-9][0-9]*\).*/\1/p' "$out" || true)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  printf '%s\n' "$port"
}

# stop_perf_server PID: ends the server PID (SIGTERM) if it still runs and
# waits for it; for EXIT traps. PID may be empty.
stop_perf_server() {
  local pid=$1
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
