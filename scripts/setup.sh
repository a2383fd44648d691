#!/usr/bin/env bash
# Installs what asynccrypt needs on Debian 12 and fetches wolfSSL's source.
# Idempotent: apt runs only when a package is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
packages=(
  build-essential cmake clang libclang-rt-14-dev lld pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  # the tools write, and the tests read, JSON with nlohmann/json (header only;
  # never linked into libasynccrypt)
  nlohmann-json3-dev
  autoconf automake libtool dpkg-dev
  faketime openssl curl gnutls-bin valgrind procps
  # scripts read the tools' JSON with jq; the perf tests' hostile peers are Python
  jq python3
  # make lint
  clang-format clang-tidy shellcheck
  # the dpdk device (optional at build time): DPDK 22.11 and its software
  # crypto drivers crypto_aesni_mb (intel-ipsec-mb) and crypto_openssl
  libdpdk-dev librte-crypto-ipsec-mb23 librte-crypto-openssl23
  # the pkcs11 layer (optional at build time): p11-kit's pkcs11.h to compile
  # against; SoftHSM2 as the test token, opensc's pkcs11-tool and
  # pkcs11-spy to look at it, p11-kit server to put it behind a socket
  libp11-kit-dev softhsm2 opensc p11-kit
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$root/scripts/fetch-wolfssl.sh"
