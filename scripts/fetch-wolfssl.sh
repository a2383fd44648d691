#!/usr/bin/env bash
# Fetches Debian's wolfSSL source package into build/wolfssl-src without touching the system's apt setup.
# The tree is wolfSSL 5.5.4 as released (the package's upstream tarball, Debian's
# patches not applied): Debian's backport of CVE-2026-5194 breaks two of wolfSSL's
# own tests (docs/known-issues.md), so the conformance suite runs on 5.5.4 itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${WOLFSSL_SRC_DIR:-$root/build/wolfssl-src}"
if [ "$(cat "$dest/.fetched" 2>/dev/null)" = upstream ]; then
  echo "wolfSSL source already in $dest"
  exit 0
fi
apt_dir="$root/build/apt"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial"
# A deb-src twin of every deb entry the system has, kept in our own folder.
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed 's/^Types: deb$/Types: deb-src/' "$f" >"$apt_dir/sources.list.d/$(basename "$f")"
done
if [ -f /etc/apt/sources.list ]; then
  sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$apt_dir/sources.list.d/system-src.list"
fi
opts=(-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d" -o "Dir::Etc::SourceList=/dev/null"
      -o "Dir::State::Lists=$apt_dir/lists")
apt-get "${opts[@]}" update -qq
work="$root/build/wolfssl-fetch"
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && apt-get "${opts[@]}" source --download-only wolfssl -qq && dpkg-source -x --skip-patches wolfssl_*.dsc src >/dev/null)
rm -rf "$dest"
mv "$work/src" "$dest"
echo upstream >"$dest/.fetched"
echo "wolfSSL source in $dest"
