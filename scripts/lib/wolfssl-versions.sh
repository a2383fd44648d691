# shellcheck shell=bash
# The wolfSSL versions asynccrypt supports, and what differs between them for
# the scripts. Sourced by fetch-wolfssl.sh, build-wolfssl.sh, conformance.sh.

# Newest first; the first is the default.
WOLFSSL_VERSIONS="5.9.2 5.7.2 5.5.4"

# Prints VERSION (or $WOLFSSL_VERSION, or the newest) when it is supported;
# fails with the list otherwise.
wolfssl_version() {
  local v="${1:-${WOLFSSL_VERSION:-}}"
  [ -n "$v" ] || v="${WOLFSSL_VERSIONS%% *}"
  case " $WOLFSSL_VERSIONS " in
    *" $v "*) echo "$v" ;;
    *) echo "unsupported wolfSSL version '$v' (supported: $WOLFSSL_VERSIONS)" >&2; return 1 ;;
  esac
}

# The Debian suite whose source package is that version.
wolfssl_suite() {
  case "$1" in
    5.5.4) echo bookworm ;;
    5.7.2) echo trixie ;;
    5.9.2) echo sid ;;
  esac
}

# A date inside the validity of every test certificate of that version that
# its suite expects to be valid, for faketime (checked with openssl x509 on
# each tree's certs/): 5.5.4's expired in 2025; 5.7.2's newest begins
# 2024-05-30 and its first to end does so 2024-06-29; 5.9.2's newest begins
# 2026-05-27 and the first to end does so 2027-01-26.
wolfssl_fake_date() {
  case "$1" in
    5.5.4) echo "2023-01-10 12:00:00" ;;
    5.7.2) echo "2024-06-01 12:00:00" ;;
    5.9.2) echo "2026-07-01 12:00:00" ;;
  esac
}
