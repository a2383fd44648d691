#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ under AddressSanitizer and
# UndefinedBehaviorSanitizer, each for FUZZ_SECONDS, against one configured
# wolfSSL tree, and reports per target: executions, coverage (cov: edges,
# ft: features), corpus size, and any crash (its input is kept in
# build/fuzz-<config>/artifacts/). Exits 1 if a target found anything.
#
# Usage: scripts/fuzz.sh <wolfSSL tree> <config name>
# Environment: FUZZ_SECONDS (per target, default 600), FUZZ_TARGETS
# (default "api ops spec"), FUZZ_PARALLEL (targets at once, default nproc),
# FUZZ_UPDATE_CORPUS=1 merges inputs that add coverage into fuzz/corpus/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

tree="${1:?usage: scripts/fuzz.sh <wolfSSL tree> <config name>}"
config="${2:?usage: scripts/fuzz.sh <wolfSSL tree> <config name>}"
seconds="${FUZZ_SECONDS:-600}"
targets="${FUZZ_TARGETS:-api ops spec}"
parallel="${FUZZ_PARALLEL:-$(nproc)}"
build="$root/build/fuzz-$config"

echo "== build the fuzzers (clang, address;undefined) against $tree"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DASYNCCRYPT_SANITIZE="address;undefined" -DASYNCCRYPT_BUILD_FUZZ=ON \
  -DASYNCCRYPT_BUILD_TESTS=OFF -DASYNCCRYPT_BUILD_TOOLS=OFF -DASYNCCRYPT_BUILD_BENCH=OFF \
  -DASYNCCRYPT_WOLFSSL_DIR="$tree" >/dev/null
targets_to_build=()
for t in $targets; do targets_to_build+=("${t}_fuzz"); done
cmake --build "$build" -j "$(nproc)" --target "${targets_to_build[@]}" >"$build/build.log" 2>&1 ||
  { tail -30 "$build/build.log" >&2; exit 2; }

# UBSan findings stop the run (libFuzzer then keeps the input).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
rm -rf "$build/artifacts" && mkdir -p "$build/artifacts"

run_target() {
  local t="$1" work="$build/work-$1"
  rm -rf "$work" && mkdir -p "$work"
  # New inputs go to $work; the repository's corpus is read as seeds.
  "$build/${t}_fuzz" -max_total_time="$seconds" -timeout=120 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "$work" "fuzz/corpus/$t" >"$build/$t.log" 2>&1
}

echo "== fuzz ${targets} for ${seconds} s each, ${parallel} at a time"
pids=()
names=()
for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do sleep 1; done
  run_target "$t" &
  pids+=($!)
  names+=("$t")
done
failed=0
for i in "${!pids[@]}"; do
  t="${names[$i]}"
  if wait "${pids[$i]}"; then status="no finding"; else status="FOUND (log: $build/$t.log)"; failed=1; fi
  done_line="$(grep -E '^#[0-9]+ +DONE' "$build/$t.log" | tail -1 || true)"
  [ -n "$done_line" ] || done_line="$(grep -E '^#[0-9]+' "$build/$t.log" | tail -1 || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log")"
  echo "fuzz $t: ${execs:-?} runs; ${done_line}; $status"
  if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
    "$build/${t}_fuzz" -merge=1 "fuzz/corpus/$t" "$build/work-$t" >"$build/$t-merge.log" 2>&1
    echo "fuzz $t: corpus now $(find "fuzz/corpus/$t" -type f | wc -l) inputs"
  fi
done
ls "$build/artifacts"
exit "$failed"
