#!/usr/bin/env bash
# Runs make in a wolfSSL tree built by build-wolfssl.sh, with the variables
# that link libasynccrypt into libwolfssl.
#   scripts/wolfssl-make.sh TREE [make arguments...]
set -euo pipefail
tree="$1"; shift
vars=()
while IFS= read -r line; do vars+=("$line"); done <"$tree/.asynccrypt-make"
exec make -C "$tree" "${vars[@]}" "$@"
