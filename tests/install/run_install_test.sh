#!/usr/bin/env bash
# Installs asynccrypt from a build tree into a temporary prefix, then
# configures, builds and runs tests/install/consumer against it with
# find_package(asynccrypt): the check that the package works for users.
#
# Usage: run_install_test.sh CMAKE BUILD_DIR CONSUMER_DIR CONFIG CC CXX
set -euo pipefail

if [[ $# -ne 6 ]]; then
  echo "usage: $0 CMAKE BUILD_DIR CONSUMER_DIR CONFIG CC CXX" >&2
  exit 2
fi
cmake=$1 build_dir=$2 consumer=$3 config=${4:-Debug} cc=$5 cxx=$6

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$cmake" --install "$build_dir" --prefix "$work/prefix" --component asynccrypt --config "$config"
# Only what the package promises: the headers, the library, the config.
for f in include/wolfssl/wolfcrypt/async.h include/asynccrypt/device.h \
         lib/libasynccrypt.a lib/cmake/asynccrypt/asynccrypt-config.cmake; do
  [[ -f $work/prefix/$f ]] || { echo "FAIL: $f was not installed" >&2; exit 1; }
done

"$cmake" -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE="$config" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
"$cmake" --build "$work/build"
"$work/build/consumer"
echo "PASS: find_package(asynccrypt) builds and runs a consumer"
