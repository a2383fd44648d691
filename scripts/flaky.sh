#!/usr/bin/env bash
# Hunts flaky unit tests: runs the unit suite FLAKY_REPEAT times on each CMake
# preset of FLAKY_PRESETS while stress-ng keeps every CPU busy, then reports
# every test that ever failed and how many times. Exits 1 on any failure.
#
# The unit suite is the CTest label "unit": the GoogleTest binaries of
# tests/unit. The perf/TLS integration tests (label "perf"), the examples
# and the install test are left out: they run servers for seconds each and
# are not what this hunts.
#
# Environment: FLAKY_REPEAT (default 20), FLAKY_PRESETS (default
# "dev asan tsan"), JOBS (ctest and build parallelism, default nproc),
# FLAKY_HOG (stress-ng CPU workers, default nproc; 0 runs without load).
# Logs of failed runs go to build/flaky/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

repeat="${FLAKY_REPEAT:-20}"
presets="${FLAKY_PRESETS:-dev asan tsan}"
jobs="${JOBS:-$(nproc)}"
hog_workers="${FLAKY_HOG:-$(nproc)}"
logdir="$root/build/flaky"

case "$repeat" in '' | *[!0-9]* | 0)
  echo "flaky.sh: FLAKY_REPEAT must be a positive integer, not '$repeat'" >&2
  exit 2
  ;;
esac

# stress-ng comes from Debian; install it the way scripts/setup.sh installs
# the rest.
if [ "$hog_workers" -gt 0 ] && ! command -v stress-ng >/dev/null; then
  echo "== apt-get install stress-ng"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
fi

rm -rf "$logdir"
mkdir -p "$logdir"

# Build first, without the hog: the builds are not under test. Their
# output (compiler warnings included) goes to a log, shown on failure.
for preset in $presets; do
  echo "== build $preset"
  build_log="$logdir/build-$preset.log"
  if ! { cmake --preset "$preset" && cmake --build --preset "$preset" -j "$jobs"; } \
    >"$build_log" 2>&1; then
    tail -40 "$build_log" >&2
    echo "flaky.sh: building $preset failed (log: $build_log)" >&2
    exit 2
  fi
done

hog_pid=""
stop_hog() {
  if [ -n "$hog_pid" ]; then
    kill -TERM "$hog_pid" 2>/dev/null || true
    wait "$hog_pid" 2>/dev/null || true
    hog_pid=""
  fi
}
trap stop_hog EXIT
trap 'stop_hog; exit 130' INT TERM
if [ "$hog_workers" -gt 0 ]; then
  echo "== load: stress-ng --cpu $hog_workers"
  stress-ng --cpu "$hog_workers" --quiet &
  hog_pid=$!
fi

declare -A failures=()  # "preset test" -> failed runs
failed_runs=0
summary=()
for preset in $presets; do
  total=0
  for ((run = 1; run <= repeat; run++)); do
    log="$logdir/$preset-$run.log"
    start=$(date +%s)
    if ctest --preset "$preset" -L unit -j "$jobs" >"$log" 2>&1; then
      rm -f "$log"
      result=passed
    else
      result=FAILED
      failed_runs=$((failed_runs + 1))
      failed_list="build/$preset/Testing/Temporary/LastTestsFailed.log"
      if [ -s "$failed_list" ]; then
        # Lines are "number:name".
        while IFS=: read -r _ name; do
          key="$preset $name"
          failures[$key]=$((${failures[$key]:-0} + 1))
        done <"$failed_list"
      else
        key="$preset (ctest failed without a test failure, see $log)"
        failures[$key]=$((${failures[$key]:-0} + 1))
      fi
    fi
    took=$(($(date +%s) - start))
    total=$((total + took))
    echo "$preset run $run/$repeat: $result in ${took}s"
  done
  summary+=("$preset: $repeat runs, $total s, $((total / repeat)) s per run")
done
stop_hog

echo "== summary (load: $hog_workers stress-ng CPU workers, ctest -j $jobs)"
printf '%s\n' "${summary[@]}"
if [ "$failed_runs" -eq 0 ]; then
  echo "no test failed"
  exit 0
fi
echo "failed runs: $failed_runs; tests that failed (preset, test, times):"
for key in "${!failures[@]}"; do
  echo "  $key: ${failures[$key]}"
done | sort
echo "logs: $logdir"
exit 1
