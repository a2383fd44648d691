#!/usr/bin/env bash
# wolfSSL's own test suite (make check) on asynccrypt, once per device kind.
#
#   scripts/conformance.sh NAME DEVICE [DEVICE...]
#
# NAME is a configuration built by build-wolfssl.sh; each DEVICE is a device
# spec put in ASYNCCRYPT_DEVICE. The suite runs under faketime because the
# test certificates of wolfSSL 5.5.4 expired in 2025. Tests that need the
# internet are skipped by name (see SKIPPED below and the README).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"; shift
tree="$root/build/wolfssl-$name"
fake_date="${ASYNCCRYPT_FAKE_DATE:-2023-01-10 12:00:00}"
# Need the internet: OCSP responders of public CAs.
SKIPPED="scripts/ocsp.test scripts/ocsp-stapling.test"

all_tests="$(make -s -C "$tree" -f Makefile -f - print-tests <<'MK'
print-tests:
	@echo $(TESTS)
MK
)"
tests=""
for t in $all_tests; do
  case " $SKIPPED " in *" $t "*) ;; *) tests="$tests $t" ;; esac
done

# One run of the suite on one device; leaves its output in check-DEVICE.out.
run_suite() {
  local device="$1"
  rm -f "$tree/test-suite.log"
  ASYNCCRYPT_DEVICE="$device" faketime "$fake_date" \
    "$root/scripts/wolfssl-make.sh" "$tree" -s check TESTS="$tests" >"$tree/check-$device.out" 2>&1
}

summary() {
  grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$tree/check-$1.out" | tr '\n' ' '
}

status=0
for device in "$@"; do
  echo "== wolfSSL $name make check on device '$device' (faketime '$fake_date')"
  start=$(date +%s)
  result=ok
  run_suite "$device" || result=FAILED
  [ "$result" = ok ] || status=1
  echo "   $result in $(( $(date +%s) - start ))s: $(summary "$device")(skipped by name: $SKIPPED)"
  if [ "$result" != ok ]; then
    grep -E '^(FAIL|ERROR):' "$tree/check-$device.out" || true
    tail -60 "$tree/test-suite.log" 2>/dev/null || tail -60 "$tree/check-$device.out"
  fi
done
exit $status
