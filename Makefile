# The two commands of the README: `make run` and `make test`. A thin layer
# over scripts/ and CMake presets; each target installs what it needs.
.PHONY: run test setup wolfssl-default wolfssl-all wolfssl-fast unit sanitizers conformance

JOBS ?= $(shell nproc)
export JOBS

# wolfSSL configurations (see README "Configurations").
DEFAULT_FLAGS := --enable-asynccrypt --enable-static
ALL_FLAGS     := --enable-asynccrypt --enable-all
FAST_FLAGS    := --enable-asynccrypt --enable-static --enable-sp --enable-sp-asm --enable-intelasm --enable-aesni
# Device kinds the conformance suite runs on (chosen at run time).
DEVICES ?= sim threads

setup:
	scripts/setup.sh

wolfssl-default: setup
	scripts/build-wolfssl.sh default $(DEFAULT_FLAGS)

wolfssl-all: setup
	scripts/build-wolfssl.sh all $(ALL_FLAGS)

wolfssl-fast: setup
	scripts/build-wolfssl.sh fast $(FAST_FLAGS)

# Main job: wolfCrypt's own benchmark, with its async rows, on our layer.
run: wolfssl-fast
	scripts/bench-wolfcrypt.sh fast $(DEVICES)

unit: wolfssl-default
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev

sanitizers: wolfssl-default
	cmake --preset asan >/dev/null && cmake --build --preset asan -j $(JOBS)
	ctest --preset asan
	cmake --preset tsan >/dev/null && cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan

conformance: wolfssl-default wolfssl-all
	scripts/conformance.sh default $(DEVICES)
	scripts/conformance.sh all $(DEVICES)

# Everything: unit tests, examples, sanitizers, then wolfSSL's own suite.
test: unit sanitizers conformance
	@echo "make test: all passed"
