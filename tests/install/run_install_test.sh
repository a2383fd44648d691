#!/usr/bin/env bash
# Installs asynccrypt from a build tree into a temporary prefix, moves the
# prefix elsewhere, then configures, builds and runs tests/install/consumer
# against the moved prefix with find_package(asynccrypt): the check that the
# package works for users and is relocatable. No installed text file may
# name the build, source or wolfSSL tree directories.
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
# Only what the package promises: the headers, the libraries, the config.
for f in include/wolfssl/wolfcrypt/async.h include/asynccrypt/device.h include/wolfssl/options.h \
         include/wolfssl/ssl.h lib/libasynccrypt.a lib/libwolfssl.a \
         lib/cmake/asynccrypt/asynccrypt-config.cmake; do
  [[ -f $work/prefix/$f ]] || { echo "FAIL: $f was not installed" >&2; exit 1; }
done
# The installed async.h is ours, not an older copy of a wolfSSL tree.
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build_dir/CMakeCache.txt")
cmp -s "$source_dir/include/wolfssl/wolfcrypt/async.h" "$work/prefix/include/wolfssl/wolfcrypt/async.h" ||
  { echo "FAIL: the installed async.h is not include/wolfssl/wolfcrypt/async.h" >&2; exit 1; }

# Relocatable: no installed text file names a directory of the build (binary
# files may, in their debug information).
wolfssl_dir=$(sed -n 's/^ASYNCCRYPT_WOLFSSL_DIR:PATH=//p' "$build_dir/CMakeCache.txt")
for dir in "$(cd "$build_dir" && pwd)" "$source_dir" "$wolfssl_dir"; do
  [[ -n $dir ]] || continue
  if hits=$(grep -rIlF "$dir" "$work/prefix"); then
    echo "FAIL: installed files name $dir:" >&2
    echo "$hits" >&2
    exit 1
  fi
done
mkdir "$work/elsewhere"
mv "$work/prefix" "$work/elsewhere/moved"

"$cmake" -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/elsewhere/moved" \
  -DCMAKE_BUILD_TYPE="$config" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
grep -q "^asynccrypt_DIR:PATH=$work/elsewhere/moved/" "$work/build/CMakeCache.txt" ||
  { echo "FAIL: the consumer did not find the moved package" >&2; exit 1; }
"$cmake" --build "$work/build"
"$work/build/consumer"
echo "PASS: find_package(asynccrypt) builds and runs a consumer from a moved prefix"
