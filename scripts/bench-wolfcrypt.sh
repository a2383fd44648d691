#!/usr/bin/env bash
# Runs wolfCrypt's own benchmark on asynccrypt, once per device kind.
#   scripts/bench-wolfcrypt.sh NAME DEVICE [DEVICE...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"; shift
bench="$root/build/wolfssl-$name/wolfcrypt/benchmark/benchmark"
for device in "$@"; do
  echo "== wolfCrypt benchmark ($name configuration) on device '$device'"
  ASYNCCRYPT_DEVICE="$device" "$bench" -rsa -ecc -dh -aes-cbc -aes-gcm -des
done
