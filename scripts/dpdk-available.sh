#!/usr/bin/env bash
# Exit 0 when this machine has DPDK's development files and the software
# crypto driver the dpdk device is tested with (crypto_aesni_mb).
pkg-config --exists libdpdk 2>/dev/null || exit 1
ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_crypto_ipsec_mb.so* >/dev/null 2>&1 || exit 1
