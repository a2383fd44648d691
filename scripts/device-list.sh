#!/usr/bin/env bash
# Prints the devices wolfSSL's suite runs on for one list of the Makefile,
# decided when a recipe runs (not when make reads the Makefile): the dpdk
# device, and chaos over it, join where DPDK can start here
# (scripts/dpdk-available.sh).
#   default    make conformance, 5.9.2's default configuration
#   sanitizer  make sanitizer-conformance
#   full       make conformance-full
# With ASYNCCRYPT_REQUIRE_DPDK=1 (.ci/run sets it where libdpdk is
# installed) a machine without a usable DPDK is an error, so that the dpdk
# devices never drop out of a run silently.
set -euo pipefail
here="$(dirname "$0")"
dpdk=no
if "$here/dpdk-available.sh"; then
  dpdk=yes
elif [[ ${ASYNCCRYPT_REQUIRE_DPDK:-0} == 1 ]]; then
  echo "device-list.sh: ASYNCCRYPT_REQUIRE_DPDK=1, but scripts/dpdk-available.sh finds no" \
    "libdpdk with crypto_aesni_mb" >&2
  exit 1
fi
aesni=dpdk:vdev=crypto_aesni_mb
chaos_aesni=chaos:seed=1,over=dpdk,vdev=crypto_aesni_mb
case "${1:-}" in
  default)
    # threads declines operations cheaper than a hand-over (they run
    # synchronously); threads:inline_us=0 sends every one to the workers,
    # so every pending path of wolfSSL runs.
    list=(sim threads threads:inline_us=0 chaos:seed=1 chaos:seed=2 chaos:seed=3)
    if [[ $dpdk == yes ]]; then
      list+=("$aesni" "$chaos_aesni")
      if "$here/dpdk-available.sh" --driver openssl; then list+=(dpdk:vdev=crypto_openssl); fi
    fi
    ;;
  sanitizer)
    list=(sim threads:inline_us=0 chaos:seed=1)
    if [[ $dpdk == yes ]]; then list+=("$aesni" "$chaos_aesni"); fi
    ;;
  full)
    list=(sim threads threads:inline_us=0 chaos:seed=1 chaos:seed=2 chaos:seed=3)
    if [[ $dpdk == yes ]]; then list+=("$aesni"); fi
    ;;
  *)
    echo "usage: $0 default|sanitizer|full" >&2
    exit 2
    ;;
esac
echo "${list[@]}"
