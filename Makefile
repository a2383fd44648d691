# The two commands of the README: `make run` and `make test`. A thin layer
# over scripts/ and CMake presets; each target installs what it needs.
.PHONY: run test setup wolfssl-default wolfssl-all wolfssl-fast wolfssl-default-asan unit sanitizers \
        valgrind soak soak-short conformance sanitizer-conformance bench-wolfcrypt \
        wolfssl-nonblock nonblock flaky

JOBS ?= $(shell nproc)
export JOBS

# wolfSSL configurations (see README "Configurations").
DEFAULT_FLAGS := --enable-asynccrypt --enable-static
ALL_FLAGS     := --enable-asynccrypt --enable-all
FAST_FLAGS    := --enable-asynccrypt --enable-static --enable-sp --enable-sp-asm --enable-intelasm --enable-aesni
NONBLOCK_FLAGS := --enable-asynccrypt --enable-static --enable-ecc=nonblock --enable-sp=yes,nonblock
# Device kinds wolfSSL's suite runs on (chosen at run time, one build each).
# threads declines operations cheaper than a hand-over (they run
# synchronously); threads:inline_us=0 sends every one to the workers, so
# every pending path of wolfSSL runs.
# The dpdk device, and chaos over it, join when DPDK can start here (scripts/dpdk-available.sh).
DEFAULT_DEVICES ?= sim threads threads:inline_us=0 chaos:seed=1 chaos:seed=2 chaos:seed=3 \
                   $(shell scripts/dpdk-available.sh && echo dpdk:vdev=crypto_aesni_mb chaos:seed=1,over=dpdk,vdev=crypto_aesni_mb \
                     && ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_crypto_openssl.so* >/dev/null 2>&1 && echo dpdk:vdev=crypto_openssl)
ALL_DEVICES     ?= sim threads:inline_us=0
# Non-blocking ECC runs in slices on the simulator only.
NONBLOCK_DEVICES ?= sim

setup:
	scripts/setup.sh

wolfssl-default: setup
	scripts/build-wolfssl.sh default $(DEFAULT_FLAGS)

wolfssl-all: setup
	scripts/build-wolfssl.sh all $(ALL_FLAGS)

wolfssl-fast: setup
	scripts/build-wolfssl.sh fast $(FAST_FLAGS)

wolfssl-nonblock: setup
	scripts/build-wolfssl.sh nonblock $(NONBLOCK_FLAGS)

# The default configuration with libasynccrypt built with AddressSanitizer
# (sanitizer-conformance).
wolfssl-default-asan: setup
	ASYNCCRYPT_LIB_SANITIZE=address scripts/build-wolfssl.sh default-asan $(DEFAULT_FLAGS)

# Main job: the async TLS benchmark on loopback (perf-server + perf-client,
# devices none, sim and threads), one comparison table.
run: wolfssl-fast
	scripts/run-main-job.sh

# wolfCrypt's own benchmark, with its async rows, on our layer.
bench-wolfcrypt: wolfssl-fast
	scripts/bench-wolfcrypt.sh fast sim threads

unit: wolfssl-default
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev

sanitizers: wolfssl-default
	cmake --preset asan >/dev/null && cmake --build --preset asan -j $(JOBS)
	ctest --preset asan
	cmake --preset tsan >/dev/null && cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan

# Flaky-test hunt (scripts/flaky.sh): the unit suite (CTest label "unit")
# FLAKY_REPEAT times on the dev, asan and tsan presets while stress-ng keeps
# every CPU busy; lists every test that failed and how often, fails if any
# did. Not part of `make test`: see the README for how long it takes.
FLAKY_REPEAT ?= 20
export FLAKY_REPEAT
flaky: wolfssl-default
	scripts/flaky.sh

# perf-server and perf-client under valgrind (memcheck, leaks): normal,
# failing (chaos fail=5) and aborted connections. About 40 s.
valgrind: unit
	scripts/valgrind-check.sh build/dev/tools/asynccrypt

# The soak test (scripts/soak.sh): 50,000 handshakes or 3 minutes, with
# resumption and random aborts; server descriptors and RSS must stay flat.
# Not part of `make test`; soak-short (2,000 handshakes) runs in CTest too
# (perf_soak_short).
soak: unit
	scripts/soak.sh build/dev/tools/asynccrypt
soak-short: unit
	SOAK_HANDSHAKES=2000 SOAK_ROUND=250 scripts/soak.sh build/dev/tools/asynccrypt

# wolfSSL's testsuite and unit test programs with libasynccrypt under ASan
# (the runtime preloaded), on sim, threads (inline_us=0), chaos, and dpdk and chaos over dpdk where DPDK can start (+46 s). About 3 minutes with the
# tree's build, 45 s without.
sanitizer-conformance: wolfssl-default-asan
	scripts/sanitizer-conformance.sh default-asan sim threads:inline_us=0 chaos:seed=1 $(shell scripts/dpdk-available.sh && echo dpdk:vdev=crypto_aesni_mb chaos:seed=1,over=dpdk,vdev=crypto_aesni_mb)

# Non-blocking ECC (docs/nonblock-ecc.md) against its own wolfSSL
# configuration: its unit tests, TLS 1.2/1.3 handshakes with an ECDSA
# certificate through the perf tools on the simulator, `asynccrypt bench`'s
# non-blocking rows.
nonblock: wolfssl-nonblock
	cmake -S . -B build/nonblock -DCMAKE_BUILD_TYPE=Release \
	  -DASYNCCRYPT_WOLFSSL_DIR=$(CURDIR)/build/wolfssl-nonblock >/dev/null
	cmake --build build/nonblock -j $(JOBS) --target nonblock_ecc_test asynccrypt_tool
	build/nonblock/tests/nonblock_ecc_test
	scripts/nonblock-check.sh build/nonblock/tools/asynccrypt

# nonblock: wolfSSL's API test test_wolfSSL_SESSION must fail (known issue
# 7); everything else must pass (scripts/conformance.sh).
conformance: wolfssl-default wolfssl-all wolfssl-nonblock
	scripts/conformance.sh default $(DEFAULT_DEVICES)
	scripts/conformance.sh all $(ALL_DEVICES)
	scripts/conformance.sh nonblock $(NONBLOCK_DEVICES)

# Everything: unit tests, examples, sanitizers, valgrind, then wolfSSL's own
# suite (plain, and a subset with libasynccrypt under ASan).
test: unit sanitizers valgrind nonblock conformance sanitizer-conformance
	@echo "make test: all passed"
