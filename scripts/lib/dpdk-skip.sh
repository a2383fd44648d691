# shellcheck shell=bash
# The one way a test script ends because DPDK is missing or cannot start
# here; sourced, not run. The unit tests' twin is DPDK_UNAVAILABLE in
# tests/support/dpdk_handle.h.

# dpdk_unavailable REASON: prints REASON and exits 77 (CTest's
# SKIP_RETURN_CODE for these tests), or, when ASYNCCRYPT_REQUIRE_DPDK=1 (CI
# sets it where libdpdk is installed, see .ci/run), prints it as a failure
# and exits 1.
dpdk_unavailable() {
  if [[ ${ASYNCCRYPT_REQUIRE_DPDK:-} == 1 ]]; then
    echo "FAIL: ASYNCCRYPT_REQUIRE_DPDK=1, but $*" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
