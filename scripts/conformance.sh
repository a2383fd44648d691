#!/usr/bin/env bash
# wolfSSL's own test suite (make check) on asynccrypt, once per device kind.
#
#   scripts/conformance.sh NAME DEVICE [DEVICE...]
#
# NAME is a tree built by build-wolfssl.sh, VERSION-CONFIG (for example
# 5.9.2-default: build/wolfssl-5.9.2-default); each DEVICE is a device spec
# put in ASYNCCRYPT_DEVICE. The suite runs under faketime, at a date inside
# the validity of that version's test certificates (wolfssl_fake_date in
# scripts/lib/wolfssl-versions.sh: 5.5.4's expired in 2025, 5.7.2's in
# September 2026). Tests that need the internet are skipped by name (see
# SKIPPED below and the README).
#
# A configuration may list expected failures: wolfSSL API tests (tests/api.c)
# that fail because of a wolfSSL bug (XFAIL_API below). Then
# scripts/unit.test leaves make check and runs here instead, in two parts:
# each expected failure on its own, which must fail with its error code (a
# pass means wolfSSL fixed it: update the list); and a copy of unit.test
# that runs everything else it runs (every other API test, then the hash and
# cipher-suite tests), which must pass. The copy is unit.test's own objects
# linked with tests/conformance/api_xfail_wrap.c (-Wl,--wrap=ApiTest), which
# only selects the API tests; wolfSSL's code is not changed. Likewise a
# configuration may list expected failures among unit.test's cipher-suite
# cases (XFAIL_SUITE below): the copy is then also linked with
# tests/conformance/suite_xfail_wrap.c, so that such a case can fail without
# ending the program; it must fail with its error, and never pass.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/wolfssl-versions.sh
. "$root/scripts/lib/wolfssl-versions.sh"
name="$1"; shift
tree="$root/build/wolfssl-$name"
version="$(cat "$tree/.wolfssl-version" 2>/dev/null)" || {
  echo "conformance: build/wolfssl-$name is not built (scripts/build-wolfssl.sh)" >&2; exit 2; }
fake_date="${ASYNCCRYPT_FAKE_DATE:-$(wolfssl_fake_date "$version")}"
# Need the internet: OCSP responders of public CAs.
SKIPPED="scripts/ocsp.test scripts/ocsp-stapling.test"
# Expected failures, as TEST_NAME:ERROR (the error the test must report).
XFAIL_API=""
case "$version-$name" in
  # Known issue 7 (docs/known-issues.md): with non-blocking ECC, wolfSSL
  # gives ECC keys of connections without a device a non-blocking context,
  # and FP_WOULDBLOCK (-4) reaches TLS. Fixed in 5.9. On 5.7.2 every API test
  # whose in-memory connections (test_memio_setup) have no device meets it.
  5.5.4-*-nonblock*) XFAIL_API="test_wolfSSL_SESSION:-4" ;;
  5.7.2-*-nonblock*)
    XFAIL_API="test_wolfSSL_SESSION:-4 test_short_session_id:-4 test_certreq_sighash_algos:-4
               test_tls_multi_handshakes_one_record:-4 test_read_write_hs:-4"
    ;;
esac
# Expected failures among unit.test's cipher-suite cases, as
# "ARGUMENTS|ERROR" separated by ';': the arguments that pick the case out
# of its .conf file, and the wolfSSL error its output must show.
XFAIL_SUITE=""
case "$version-$name" in
  # Known issue 15: TLS 1.3 post-handshake client authentication fails with
  # -326 once anything pends (wolfSSL's own layer fails it too).
  5.9.2-*-all*) XFAIL_SUITE="-v 4 -l TLS13-AES128-GCM-SHA256 -Q|-326" ;;
esac
# To try the mechanism: ASYNCCRYPT_XFAIL_API="NAME:ERROR ..." and
# ASYNCCRYPT_XFAIL_SUITE="ARGUMENTS|ERROR;..." replace the lists.
XFAIL_API="${ASYNCCRYPT_XFAIL_API-$XFAIL_API}"
XFAIL_SUITE="${ASYNCCRYPT_XFAIL_SUITE-$XFAIL_SUITE}"
[ -n "$XFAIL_API$XFAIL_SUITE" ] && SKIPPED="$SKIPPED scripts/unit.test"

# --no-print-directory: under a recursive make (make conformance-older)
# "Entering directory" lines would otherwise join the list.
all_tests="$(make --no-print-directory -s -C "$tree" -f Makefile -f - print-tests <<'MK'
print-tests:
	@echo $(TESTS)
MK
)"
tests=""
for t in $all_tests; do
  case " $SKIPPED " in *" $t "*) ;; *) tests="$tests $t" ;; esac
done

# One run of the suite on one device; leaves its output in check-DEVICE.out.
# A test that hangs (some of wolfSSL's scripts start their client before
# their server listens when the machine is loaded, then wait for ever) fails
# the run after CONFORMANCE_TIMEOUT seconds (default 1800) instead of
# stopping it.
suite_timeout="${CONFORMANCE_TIMEOUT:-1800}"
run_suite() {
  local device="$1" rc=0
  rm -f "$tree/test-suite.log"
  ASYNCCRYPT_DEVICE="$device" timeout --kill-after=30 "$suite_timeout" faketime "$fake_date" \
    "$root/scripts/wolfssl-make.sh" "$tree" -s check TESTS="$tests" >"$tree/check-$device.out" 2>&1 ||
    rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    # A test still running has its .log but no .trs (automake's result file).
    local f unfinished=""
    for f in "$tree"/scripts/*.log "$tree"/tests/*.log "$tree"/testsuite/*.log; do
      [ -e "$f" ] && [ ! -e "${f%.log}.trs" ] && unfinished="$unfinished ${f#"$tree"/}"
    done
    echo "   TIMED OUT after ${suite_timeout}s; still running then:${unfinished:- (none found)}"
  fi
  return "$rc"
}

summary() {
  grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$tree/check-$1.out" | tr '\n' ' '
}

# Builds tests/unit-xfail.test: unit.test's objects, api_xfail_wrap.c and
# suite_xfail_wrap.c.
build_unit_xfail() {
  "$root/scripts/wolfssl-make.sh" "$tree" -s tests/unit.test >/dev/null
  local defs=""
  [ "$version" = 5.5.4 ] && defs="-DAPI_TEST_RETURNS_VOID"
  gcc -O2 -Wall $defs -c "$root/tests/conformance/api_xfail_wrap.c" -o "$tree/tests/api-xfail-wrap.o"
  gcc -O2 -Wall -c "$root/tests/conformance/suite_xfail_wrap.c" -o "$tree/tests/suite-xfail-wrap.o"
  "$root/scripts/wolfssl-make.sh" "$tree" -s -f Makefile -f - tests/unit-xfail.test <<'MK'
XFAIL_OBJECTS = tests/api-xfail-wrap.o tests/suite-xfail-wrap.o
tests/unit-xfail.test: $(tests_unit_test_OBJECTS) $(tests_unit_test_DEPENDENCIES) $(XFAIL_OBJECTS)
	$(tests_unit_test_LINK) $(tests_unit_test_OBJECTS) $(XFAIL_OBJECTS) $(tests_unit_test_LDADD) $(LIBS) \
	  -Wl,--wrap=ApiTest,--wrap=client_test,--wrap=server_test,--wrap=exit
MK
}

# Whether API test $2's output in file $1 (from its "N: name :" line to the
# next test's) shows error $3: unit.test prints "error = CODE," when a
# handshake fails, and "result:   CODE != ..." when a test compares
# wolfSSL_get_error's answer.
failed_with() {
  awk -v t="$2" -v c="$3" '
    $0 ~ "^ *[0-9]+: [A-Za-z0-9_]+ *:" { inside = ($2 == t) }
    inside && (index($0, "error = " c ",") || $0 ~ "result: +" c " != ") { found = 1 }
    END { exit !found }' "$1"
}

# Whether device spec $1 may leave operations to the caller (declines them:
# wolfCrypt computes them at once, nothing pends), so that a wolfSSL bug that
# needs an operation to pend may not show: the threads kind unless it sends
# everything to the workers (inline_us=0), and dpdk, which declines what its
# driver cannot do.
may_skip_pending() {
  case "$1" in
    *inline_us=0*) return 1 ;;
    threads | threads:* | dpdk | dpdk:*) return 0 ;;
    *) return 1 ;;
  esac
}

# Runs unit.test's parts on one device (see the top): output in
# unit-xfail-DEVICE.out (the expected failures) and unit-rest-DEVICE.out.
run_unit_xfail() {
  local device="$1"
  local out="$tree/unit-xfail-$device.out" rest="$tree/unit-rest-$device.out"
  local ok=0 skip="" list count x test code idx
  list="$(cd "$tree" && ./tests/unit.test --list | grep -oE '[0-9]+: [A-Za-z0-9_]+')"
  count="$(echo "$list" | wc -l)"
  : >"$out"
  for x in $XFAIL_API; do
    test="${x%%:*}"
    code="${x##*:}"
    idx="$(echo "$list" | awk -v t="$test" '$2 == t { sub(":", "", $1); print $1 }')"
    if [ -z "$idx" ]; then
      echo "   FAIL: expected failure $test is not a unit.test API test"; ok=1; continue
    fi
    skip="$skip $idx"
    if (cd "$tree" && ASYNCCRYPT_DEVICE="$device" faketime "$fake_date" \
          ./tests/unit.test --api "-$test") >>"$out" 2>&1; then
      echo "   XPASS: $test passed; it was expected to fail with $code (wolfSSL fixed?)"; ok=1
    elif failed_with "$out" "$test" "$code"; then
      echo "   XFAIL: $test (error = $code, as expected: docs/known-issues.md)"
    else
      echo "   FAIL: $test failed, but not with error $code"; ok=1
    fi
  done
  local api_env=() cases="" entry suite_log="$tree/suite-xfail-$device.log"
  [ -n "$skip" ] && api_env=(ASYNCCRYPT_API_SKIP="$skip" ASYNCCRYPT_API_COUNT="$count")
  IFS=';' read -ra suite_entries <<<"$XFAIL_SUITE"
  for entry in "${suite_entries[@]}"; do cases="$cases${cases:+;}${entry%|*}"; done
  rm -f "$suite_log"
  if (cd "$tree" && env ASYNCCRYPT_DEVICE="$device" "${api_env[@]}" ASYNCCRYPT_SUITE_XFAIL="$cases" \
        ASYNCCRYPT_SUITE_XFAIL_LOG="$suite_log" faketime "$fake_date" ./tests/unit-xfail.test) \
        >"$rest" 2>&1 && grep -q "unit_test: Success for all configured tests" "$rest"; then
    echo "   PASS: unit.test without its $(echo "$skip" | wc -w) expected API failure(s):" \
         "$(grep -cE '^ *[0-9]+: [A-Za-z0-9_]+ +:' "$rest") of $count API tests passed or" \
         "skipped, then $(grep -cE '^starting .*(tests|failure)$' "$rest") cipher-suite groups" \
         "($(grep -c '^trying client command line' "$rest") client cases)"
  else
    echo "   FAIL: unit.test without its expected failures (see $rest)"; ok=1
  fi
  # Each expected suite failure must have failed, with its error, and never
  # passed; on a device that may decline (may_skip_pending), passing is
  # allowed too, but a failure must still show the error.
  for entry in "${suite_entries[@]}"; do
    local args="${entry%|*}" code="${entry##*|}" passed failed shows_code=no
    passed="$(grep "^XPASS" "$suite_log" 2>/dev/null | grep -cF -- "$args")" || true
    failed="$(grep "^XFAIL" "$suite_log" 2>/dev/null | grep -cF -- "$args")" || true
    grep -qE "error $code([^0-9]|$)" "$rest" && shows_code=yes
    if [ "$passed" -gt 0 ] && may_skip_pending "$device"; then
      if [ "$failed" -gt 0 ] && [ "$shows_code" = no ]; then
        echo "   FAIL: suite case '$args' did not fail with error $code"; ok=1
      else
        echo "   XFAIL or pass: suite case '$args' passed $passed and failed $failed of its guarded" \
             "runs (error $code); '$device' declines some operations, and the bug needs one to pend:" \
             "docs/known-issues.md"
      fi
    elif [ "$passed" -gt 0 ]; then
      echo "   XPASS: suite case '$args' passed; it was expected to fail with $code (wolfSSL fixed?)"; ok=1
    elif grep "^XFAIL client" "$suite_log" 2>/dev/null | grep -qF -- "$args" && [ "$shows_code" = yes ]; then
      echo "   XFAIL: suite case '$args' ($(grep -c '^XFAIL' "$suite_log") guarded runs failed," \
           "error $code, as expected: docs/known-issues.md)"
    else
      echo "   FAIL: suite case '$args' did not fail with error $code"; ok=1
    fi
  done
  return $ok
}

# faketime keeps a semaphore and a shared-memory file in /dev/shm per
# wrapper process, named by its PID, and removes them when it exits. One that
# was killed (a suite that timed out, or killed by hand) leaves them behind,
# and a later faketime that gets the same PID fails at once ("sem_open: File
# exists"). Removes those of processes that no longer exist.
remove_stale_faketime_files() {
  local f pid
  for f in /dev/shm/faketime_shm_* /dev/shm/sem.faketime_sem_*; do
    [ -e "$f" ] || continue
    pid="${f##*_}"
    case "$pid" in '' | *[!0-9]*) continue ;; esac
    [ -d "/proc/$pid" ] || rm -f "$f"
  done
}

status=0
if [ -n "$XFAIL_API$XFAIL_SUITE" ]; then build_unit_xfail; fi
for device in "$@"; do
  remove_stale_faketime_files
  echo "== wolfSSL $version ${name#"$version"-} make check on device '$device' (faketime '$fake_date')"
  start=$(date +%s)
  result=ok
  run_suite "$device" || result=FAILED
  [ "$result" = ok ] || status=1
  echo "   $result in $(( $(date +%s) - start ))s: $(summary "$device")(skipped by name: $SKIPPED)"
  if [ "$result" != ok ]; then
    grep -E '^(FAIL|ERROR):' "$tree/check-$device.out" || true
    tail -60 "$tree/test-suite.log" 2>/dev/null || tail -60 "$tree/check-$device.out"
  fi
  if [ -n "$XFAIL_API$XFAIL_SUITE" ]; then
    start=$(date +%s)
    if run_unit_xfail "$device"; then
      echo "   scripts/unit.test's parts ok in $(( $(date +%s) - start ))s"
    else
      status=1
      tail -20 "$tree/unit-xfail-$device.out"; tail -40 "$tree/unit-rest-$device.out"
    fi
  fi
done
exit $status
