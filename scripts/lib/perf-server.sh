# shellcheck shell=bash
# Helpers for scripts that run `asynccrypt perf-server`; sourced, not run.

# bounded: the prefix that runs a perf tool for at most N seconds
# ("${bounded[@]}" N "$tool" ...): SIGTERM then, SIGKILL 10 s later.
# --foreground because plain timeout follows every signal it passes on
# (a script's SIGTERM to end the server included) with a SIGCONT to its
# process group, and a SIGCONT that lands while LeakSanitizer's exit-time
# leak check attaches to the process with ptrace discards the SIGSTOP of
# that attach: the checker then waits for ever and the tool never exits
# (4 of 100 ASan perf-servers stopped so under load; 0 of 100 with
# --foreground; docs/robustness.md).
# shellcheck disable=SC2034 # used by the scripts that source this file
bounded=(timeout --foreground --kill-after=10)

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
