#!/usr/bin/env bash
# Exit 0 when this machine has DPDK's development files and the software
# crypto driver the dpdk device is tested with (crypto_aesni_mb); with
# --driver NAME, when it also has the crypto driver NAME (e.g. openssl).
# The drivers live in DPDK's plug-in directory under its libdir, which
# pkg-config gives (no multiarch path written here).
set -euo pipefail
libdir="$(pkg-config --variable=libdir libdpdk 2>/dev/null)" || exit 1
has_driver() {
  compgen -G "$libdir/dpdk/pmds-*/librte_crypto_$1.so*" >/dev/null
}
has_driver ipsec_mb || exit 1
if [[ ${1:-} == --driver ]]; then
  has_driver "${2:?--driver needs a name}" || exit 1
fi
