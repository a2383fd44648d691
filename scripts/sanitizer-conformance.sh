#!/usr/bin/env bash
# A conformance subset under AddressSanitizer: wolfSSL's own test programs
# (testsuite/testsuite.test, then tests/unit.test) on a wolfSSL tree whose
# libasynccrypt was built with -fsanitize=address (build-wolfssl.sh with
# ASYNCCRYPT_LIB_SANITIZE=address; wolfSSL's own code is not instrumented,
# but every allocation goes through ASan's allocator, so LeakSanitizer sees
# wolfSSL's leaks too). The runtime is preloaded with faketime (at the
# version's date, as in conformance.sh); faketime goes first (with the
# runtime first, the program hangs at start-up in a futex) and ASan's
# link-order check is off. Neither defines what the other intercepts.
# Reports are not symbolized (ASan's symbolizer aborts in a futex under
# faketime): read them with addr2line, or rerun the test without faketime.
# A leak or a memory error fails the program (exit 86).
#
#   scripts/sanitizer-conformance.sh NAME DEVICE [DEVICE...]
#
# NAME is the tree (for example 5.9.2-default-asan: build/wolfssl-5.9.2-default-asan).
# SANCONF_PROGRAMS overrides the programs run (default: testsuite unit).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/wolfssl-versions.sh
. "$root/scripts/lib/wolfssl-versions.sh"
name="$1"; shift
tree="$root/build/wolfssl-$name"
version="$(cat "$tree/.wolfssl-version" 2>/dev/null)" || {
  echo "sanitizer-conformance: build $tree first (make wolfssl-default-asan)" >&2; exit 2; }
fake_date="${ASYNCCRYPT_FAKE_DATE:-$(wolfssl_fake_date "$version")}"
programs="${SANCONF_PROGRAMS:-testsuite unit}"
asan_rt="$(gcc -print-file-name=libasan.so)"
faketime_lib=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
  [ -f "$f" ] && { faketime_lib="$f"; break; }
done
[ -n "$faketime_lib" ] || { echo "sanitizer-conformance: libfaketime not found" >&2; exit 2; }
[ -f "$asan_rt" ] || { echo "sanitizer-conformance: gcc's libasan not found" >&2; exit 2; }
[ -x "$tree/tests/.libs/unit.test" ] || {
  echo "sanitizer-conformance: build $tree first (make wolfssl-default-asan)" >&2; exit 2; }

status=0
for device in "$@"; do
  for prog in $programs; do
    case $prog in
      testsuite) bin="$tree/testsuite/.libs/testsuite.test" ;;
      unit) bin="$tree/tests/.libs/unit.test" ;;
      *) echo "unknown program $prog" >&2; exit 2 ;;
    esac
    log="$tree/sanitizer-$prog-${device//[^a-zA-Z0-9=]/_}.log"
    echo "== $prog on '$device' under ASan (faketime '$fake_date')"
    start=$(date +%s)
    rc=0
    # The real binaries (not libtool's shell wrappers, which would run bash
    # under the preloaded runtime), from the tree's root as make check does.
    # Preloaded into the test program only (env after timeout).
    (cd "$tree" &&
      ASYNCCRYPT_DEVICE="$device" LD_LIBRARY_PATH="$tree/src/.libs" \
        timeout 900 env ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0:symbolize=0:exitcode=86" \
        FAKETIME="@$fake_date" LD_PRELOAD="$faketime_lib $asan_rt" "$bin") >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
      echo "   ok in ${secs}s"
    else
      status=1
      echo "   FAILED (exit $rc) in ${secs}s; log: $log"
      grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY' "$log" | head -5 || true
      tail -30 "$log"
    fi
  done
done
exit $status
