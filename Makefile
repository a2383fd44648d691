# The two commands of the README: `make run` and `make test`. A thin layer
# over scripts/ and CMake presets; each target installs what it needs.
.PHONY: run test setup wolfssl-default wolfssl-all wolfssl-fast wolfssl-default-asan unit sanitizers \
        valgrind soak soak-short conformance sanitizer-conformance bench-wolfcrypt

JOBS ?= $(shell nproc)
export JOBS

# wolfSSL configurations (see README "Configurations").
DEFAULT_FLAGS := --enable-asynccrypt --enable-static
ALL_FLAGS     := --enable-asynccrypt --enable-all
FAST_FLAGS    := --enable-asynccrypt --enable-static --enable-sp --enable-sp-asm --enable-intelasm --enable-aesni
# Device kinds wolfSSL's suite runs on (chosen at run time, one build each).
# The dpdk device joins when DPDK can start here (scripts/dpdk-available.sh).
DEFAULT_DEVICES ?= sim threads chaos:seed=1 chaos:seed=2 chaos:seed=3 \
                   $(shell scripts/dpdk-available.sh && echo dpdk:vdev=crypto_aesni_mb)
ALL_DEVICES     ?= sim threads

setup:
	scripts/setup.sh

wolfssl-default: setup
	scripts/build-wolfssl.sh default $(DEFAULT_FLAGS)

wolfssl-all: setup
	scripts/build-wolfssl.sh all $(ALL_FLAGS)

wolfssl-fast: setup
	scripts/build-wolfssl.sh fast $(FAST_FLAGS)

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
# (the runtime preloaded), on sim, threads and chaos. About 3 minutes with the
# tree's build, 45 s without.
sanitizer-conformance: wolfssl-default-asan
	scripts/sanitizer-conformance.sh default-asan sim threads chaos:seed=1

conformance: wolfssl-default wolfssl-all
	scripts/conformance.sh default $(DEFAULT_DEVICES)
	scripts/conformance.sh all $(ALL_DEVICES)

# Everything: unit tests, examples, sanitizers, valgrind, then wolfSSL's own
# suite (plain, and a subset with libasynccrypt under ASan).
test: unit sanitizers valgrind conformance sanitizer-conformance
	@echo "make test: all passed"
