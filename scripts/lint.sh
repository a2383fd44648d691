#!/usr/bin/env bash
# make lint: the checks STYLE.md promises.
#  - clang-format: every C and C++ source is formatted (.clang-format),
#    except three files kept in wolfSSL's own C style: async.h (wolfSSL's
#    header, which the build copies into wolfSSL's tree), glue/async.c
#    (compiled inside wolfSSL's tree) and tests/repro/*.c (reproductions
#    for wolfSSL's maintainers);
#  - shellcheck on every shell script, and no script runs our programs
#    under plain timeout (its SIGCONT can hang LeakSanitizer's exit check:
#    "bounded" in scripts/lib/perf-server.sh);
#  - clang-tidy (.clang-tidy's checks, warnings are errors) on the library's
#    sources, with the compile commands of the build in LINT_BUILD (default
#    build/dev, configured by the caller).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${LINT_BUILD:-build/dev}"

echo "== clang-format"
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.c' |
  grep -vxE 'include/wolfssl/wolfcrypt/async\.h|glue/async\.c|tests/repro/.*\.c')
clang-format --dry-run -Werror "${sources[@]}"
echo "lint: ${#sources[@]} sources formatted"

echo "== shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck -x "${scripts[@]}"
# shellcheck disable=SC2016 # a pattern and a message, not expansions
if git grep -nE '\btimeout +[^-|;][^|;]*"\$(tool|client_tool|server|client|\{vg\[@\]\})"' -- '*.sh'; then
  echo "lint: the lines above run a program of ours under plain timeout; use" \
    '"${bounded[@]}" (scripts/lib/perf-server.sh) or timeout --foreground' >&2
  exit 1
fi
echo "lint: ${#scripts[@]} scripts clean"

echo "== clang-tidy"
[[ -f $build/compile_commands.json ]] ||
  { echo "lint: $build/compile_commands.json missing (configure $build first)" >&2; exit 2; }
mapfile -t library < <(git ls-files 'src/*.cc')
log="$build/clang-tidy.log"
# Sources the build does not compile (a device kind left out) have no
# command and are skipped by run-clang-tidy's file filter.
run-clang-tidy -quiet -p "$build" -j "$(nproc)" \
  "^$root/src/.*\.cc$" >"$log" 2>&1 || {
  grep -E "(warning|error):" "$log" | sort -u >&2
  echo "lint: clang-tidy found the above (log: $log)" >&2
  exit 1
}
echo "lint: clang-tidy clean on the ${#library[@]} library sources"
