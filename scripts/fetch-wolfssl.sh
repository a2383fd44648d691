#!/usr/bin/env bash
# Fetches one wolfSSL release's source from Debian into build/wolfssl-src-VERSION,
# without touching the system's apt configuration.
#
#   scripts/fetch-wolfssl.sh [VERSION]      (default: $WOLFSSL_VERSION, else the newest)
#
# Each supported version comes from the Debian suite that ships it:
#   5.5.4  bookworm (Debian 12)
#   5.7.2  trixie   (Debian 13)
#   5.9.2  sid      (unstable)
# A private source list (build/apt) names that suite as deb-src. The tree is
# the release as wolfSSL published it: the package's upstream tarball, with
# Debian's patches not applied (Debian's backport of CVE-2026-5194 in 5.5.4
# and 5.7.2 breaks wolfSSL's own tests, docs/known-issues.md). When the
# suite's .dsc or Debian tarball cannot be downloaded (it happens to sid
# between uploads), the upstream tarball alone is enough: its checksum is
# checked against the suite's Sources index.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/wolfssl-versions.sh
. "$root/scripts/lib/wolfssl-versions.sh"
version="$(wolfssl_version "${1:-}")"
suite="$(wolfssl_suite "$version")"
dest="${WOLFSSL_SRC_DIR:-$root/build/wolfssl-src-$version}"
if [ "$(cat "$dest/.fetched" 2>/dev/null)" = "upstream $version" ]; then
  echo "wolfSSL $version source already in $dest"
  exit 0
fi

apt_dir="$root/build/apt-$suite"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial"
# The mirror the system already uses, with the keyring Debian's images ship.
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)"
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror="$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"
cat >"$apt_dir/sources.list.d/wolfssl-src.sources" <<SRC
Types: deb-src
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
opts=(-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d" -o "Dir::Etc::SourceList=/dev/null"
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
apt-get "${opts[@]}" update -qq

work="$root/build/wolfssl-fetch-$version"
rm -rf "$work" && mkdir -p "$work"
cd "$work"
# Fails when a file is missing; what did arrive is kept.
apt-get "${opts[@]}" source --download-only "wolfssl/$suite" -qq >fetch.log 2>&1 || true
orig="wolfssl_$version.orig.tar.gz"
if [ ! -f "$orig" ]; then
  echo "fetch-wolfssl: could not download $orig from $suite (has the suite moved on?):" >&2
  cat fetch.log >&2
  exit 1
fi
# The tarball's checksum as the (signed) Sources index gives it.
# (Asked from an empty folder: --print-uris leaves out files already present.)
mkdir uris
want="$(cd uris && apt-get "${opts[@]}" source --print-uris "wolfssl/$suite" 2>/dev/null |
        awk -v f="$orig" '$2 == f { sub("SHA256:", "", $4); print $4 }')"
have="$(sha256sum "$orig" | cut -d' ' -f1)"
if [ -z "$want" ] || [ "$want" != "$have" ]; then
  echo "fetch-wolfssl: $orig checksum ${have} does not match the index (${want:-none})" >&2
  exit 1
fi
mkdir src
tar -xzf "$orig" -C src --strip-components=1
rm -rf "$dest"
mv src "$dest"
echo "upstream $version" >"$dest/.fetched"
echo "wolfSSL $version source in $dest"
