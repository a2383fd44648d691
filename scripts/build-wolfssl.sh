#!/usr/bin/env bash
# Builds one wolfSSL configuration of one wolfSSL version against asynccrypt.
#
#   scripts/build-wolfssl.sh [--version V] [--lib-only] NAME [configure options...]
#
# V is a supported wolfSSL version (scripts/lib/wolfssl-versions.sh; default
# $WOLFSSL_VERSION, else the newest). Copies that version's source to
# build/wolfssl-V-NAME, places our async.h and C glue where wolfSSL's build
# expects them (over the in-tree layer that 5.9.2 ships), configures it,
# builds libasynccrypt against that configuration (CMake,
# build/asynccrypt-V-NAME) and links it into libwolfssl. wolfSSL's own code is
# not modified. The tree's path is printed last.
#
# --lib-only builds libwolfssl alone, not wolfSSL's examples, testsuite and
# unit test (half the build): for configurations that only our own tests
# link against, never for one whose `make check` runs.
#
# ASYNCCRYPT_LIB_SANITIZE=address builds libasynccrypt with gcc's
# AddressSanitizer (wolfSSL itself stays uninstrumented) and links libasan
# into libwolfssl: run its programs with LD_PRELOAD="$(gcc
# -print-file-name=libasan.so)" (scripts/sanitizer-conformance.sh). Use a tree
# name of its own (for example default-asan).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/wolfssl-versions.sh
. "$root/scripts/lib/wolfssl-versions.sh"
version=""
if [ "${1:-}" = --version ]; then version="$2"; shift 2; fi
make_goal=""
if [ "${1:-}" = --lib-only ]; then make_goal="src/libwolfssl.la"; shift; fi
version="$(wolfssl_version "$version")"
name="$1"; shift
src="$root/build/wolfssl-src-$version"
tree="$root/build/wolfssl-$version-$name"
libdir="$root/build/asynccrypt-$version-$name"
jobs="${JOBS:-$(nproc)}"
"$root/scripts/fetch-wolfssl.sh" "$version" >/dev/null
stamp_inputs="$* $(cat "$src/.fetched" 2>/dev/null) $(cat "$root/include/wolfssl/wolfcrypt/async.h" "$root/glue/async.c" | sha1sum)"

if [ ! -x "$src/configure" ]; then
  echo "== autogen (once)"
  (cd "$src" && ./autogen.sh >/dev/null 2>&1)
fi

if [ ! -f "$tree/.configured" ] || [ "$(cat "$tree/.configured")" != "$stamp_inputs" ]; then
  echo "== configure wolfSSL ($name): $*"
  rm -rf "$tree"
  cp -a "$src" "$tree"
  # 5.9.2 ships a layer of its own in these two files; ours replaces it.
  cp "$root/include/wolfssl/wolfcrypt/async.h" "$tree/wolfssl/wolfcrypt/async.h"
  cp "$root/glue/async.c" "$tree/wolfcrypt/src/async.c"
  if ! cmp -s "$root/glue/async.c" "$tree/wolfcrypt/src/async.c" ||
    ! cmp -s "$root/include/wolfssl/wolfcrypt/async.h" "$tree/wolfssl/wolfcrypt/async.h"; then
    echo "build-wolfssl: our async.h/async.c did not replace the tree's" >&2
    exit 1
  fi
  (cd "$tree" && ./configure -q "$@" >"$tree/configure.out" 2>&1) || {
    tail -30 "$tree/configure.out"; exit 1; }
  echo "$stamp_inputs" >"$tree/.configured"
fi

sanitize="${ASYNCCRYPT_LIB_SANITIZE:-}"
san_libs=""
[ -n "$sanitize" ] && san_libs="-lasan"
echo "== build libasynccrypt ($name${sanitize:+, -fsanitize=$sanitize})"
cmake -S "$root" -B "$libdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DASYNCCRYPT_WOLFSSL_DIR="$tree" -DASYNCCRYPT_LIBRARY_ONLY=ON \
  -DASYNCCRYPT_SANITIZE="$sanitize" >/dev/null
cmake --build "$libdir" --target asynccrypt -j "$jobs" >/dev/null

echo "== build wolfSSL ($name)"
# libasynccrypt (position-independent) becomes part of libwolfssl.so
# itself, all of it (--whole-archive): every function async.h exports is
# there, not only those wolfSSL's own objects call (the wc_AsyncThread*
# helpers, for one; scripts/check-exports.sh checks). A new libasynccrypt
# relinks it. Later make runs (make check) need the same variables:
# scripts/wolfssl-make.sh reads them from .asynccrypt-make.
# libasynccrypt's own link needs (the DPDK libraries when the dpdk device is
# built) are written by its CMake configuration.
# How: LIB_ADD is in libwolfssl's link only (LIB_STATIC_ADD is in every
# test program's too, which must not get a second copy), so we append to
# the value configure gave it. One -Wl word: libtool moves -Wl flags behind
# its -l arguments, so the libraries libasynccrypt needs ride in it too
# (after the archive, or --as-needed would drop them). A static
# libwolfssl.a does not contain libasynccrypt: link libasynccrypt.a with it
# (the CMake package does).
extra_libs="$(cat "$libdir/asynccrypt-link-libs.txt" 2>/dev/null || true)"
link_word="-Wl,--whole-archive,$libdir/libasynccrypt.a,--no-whole-archive"
for lib in $extra_libs $san_libs -lstdc++; do link_word+=",$lib"; done
# wolfSSL's calls of wc_curve25519_free go through the glue's hook
# (glue/async.c, docs/known-issues.md 11).
link_word+=",--wrap=wc_curve25519_free"
lib_add="$(sed -n 's/^LIB_ADD = *//p' "$tree/Makefile" | sed 's/ *$//')"
vars="LIB_ADD=${lib_add:+$lib_add }$link_word
src_libwolfssl_la_DEPENDENCIES=$libdir/libasynccrypt.a"
# Changed link variables do not make make relink: drop the library.
if [ "$(cat "$tree/.asynccrypt-make" 2>/dev/null)" != "$vars" ]; then
  rm -f "$tree/src/libwolfssl.la"
fi
printf '%s\n' "$vars" >"$tree/.asynccrypt-make"
"$root/scripts/wolfssl-make.sh" "$tree" -j "$jobs" -s ${make_goal:+"$make_goal"} >"$tree/make.out" 2>&1 || {
  tail -40 "$tree/make.out"; exit 1; }
echo "$version" >"$tree/.wolfssl-version"

# Proof that the library is ours and only ours: the shared libwolfssl holds
# our extension, and no wolfAsync_* symbol is defined twice; the static one
# holds only the glue (programs link libasynccrypt.a beside it), never a
# wolfAsync_* of its own. A surviving in-tree async.c (5.9.2) would either
# clash at link time or make every test run wolfSSL's own simulator.
so="$tree/src/.libs/libwolfssl.so"
if [ -f "$so" ]; then
  syms="$(nm -D --defined-only "$so")"
  grep -q ' T asynccrypt_DevOpenSpec$' <<<"$syms" || {
    echo "build-wolfssl: $so lacks asynccrypt_DevOpenSpec: not our layer" >&2; exit 1; }
  dups="$(nm --defined-only "$so" | awk '$3 ~ /^wolfAsync_/ { print $3 }' | sort | uniq -d)"
  [ -z "$dups" ] || { echo "build-wolfssl: $so defines twice: $dups" >&2; exit 1; }
fi
a="$tree/src/.libs/libwolfssl.a"
if [ -f "$a" ] && nm --defined-only "$a" 2>/dev/null | grep -qE ' T wolfAsync_'; then
  echo "build-wolfssl: $a defines wolfAsync_* itself: wolfSSL's own layer was built" >&2; exit 1
fi
echo "$tree"
