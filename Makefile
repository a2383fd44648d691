# The two commands of the README: `make run` and `make test`. A thin layer
# over scripts/ and CMake presets; each target installs what it needs.
.PHONY: run test setup dev-build wolfssl-default wolfssl-all wolfssl-fast wolfssl-default-asan unit sanitizers \
        wolfssl-x25519 x25519 conformance-older conformance-full \
        valgrind soak soak-short conformance sanitizer-conformance bench-wolfcrypt \
        wolfssl-nonblock nonblock exports flaky wolfssl-nonblock-rsa nonblock-rsa \
        wolfssl-hsm hsm hsm-older hsm-bench fuzz lint

JOBS ?= $(shell nproc)
export JOBS

# The wolfSSL version everything builds against (scripts/lib/wolfssl-versions.sh):
# 5.9.2 (newest, the default), 5.7.2 (Debian 13) or 5.5.4 (Debian 12).
WOLFSSL_VERSION ?= 5.9.2
export WOLFSSL_VERSION
V := $(WOLFSSL_VERSION)
# Build trees are build/wolfssl-VERSION-CONFIG.
TREE = $(CURDIR)/build/wolfssl-$(1)-$(2)

# wolfSSL configurations (see README "Configurations"). From 5.7.2 on,
# --enable-all turns on crypto callbacks, and configure then leaves out the
# software backend that asynccrypt's devices are, unless --enable-asynccrypt-sw
# asks for it (docs/wolfssl-versions.md).
ASYNC_SW = $(if $(filter 5.5.4,$(1)),,--enable-asynccrypt-sw)
# 5.9's wolfCrypt test gives ECCSI and SAKKE keys the async device, but their
# code cannot pend (known issue 14): those two stay out of `all` there. And a
# TLS 1.2/DTLS 1.2 record write whose CBC encryption pends fails on 5.9.2
# (known issue 13; `all` runs the DTLS MTU tests, 4000-byte CBC records):
# `all` keeps CBC records synchronous there, as that issue advises.
ALL_EXTRA = $(if $(filter 5.9.2,$(1)),--disable-eccsi --disable-sakke \
              CPPFLAGS='-DWC_ASYNC_THRESH_AES_CBC=32768 -DWC_ASYNC_THRESH_DES3_CBC=32768')
DEFAULT_FLAGS := --enable-asynccrypt --enable-static
ALL_FLAGS      = --enable-asynccrypt --enable-all $(call ASYNC_SW,$(1)) $(call ALL_EXTRA,$(1))
FAST_FLAGS    := --enable-asynccrypt --enable-static --enable-sp --enable-sp-asm --enable-intelasm --enable-aesni
# Non-blocking ECC; on 5.9.2 also non-blocking DH and X25519. Not RSA:
# wolfCrypt's own RSA non-blocking test cannot pass with any async layer
# (known issue 14).
NONBLOCK_FLAGS = --enable-asynccrypt --enable-static --enable-ecc=nonblock --enable-sp=yes,nonblock \
                 $(if $(filter 5.9.2,$(1)),--enable-dh=nonblock --enable-curve25519=nonblock)
# Non-blocking RSA (5.9 on), as upstream's CI builds it. Its own
# configuration: wolfCrypt's RSA non-blocking test cannot pass with an async
# layer that pends (known issue 14), and the wolfCrypt test stops there.
NONBLOCK_RSA_FLAGS := --enable-asynccrypt --enable-static --enable-rsa=nonblock --enable-sp=yes,nonblock \
                      CPPFLAGS=-DRSA_LOW_MEM
# Keys in a PKCS#11 token through the pkcs11 device (docs/hsm.md): crypto
# callbacks, and from 5.7.2 on the software records kept beside them (without
# --enable-asynccrypt-sw those versions resume a pending RSA callback with a
# stale buffer). --enable-pkcs11 adds wolfSSL's own synchronous PKCS#11 code,
# the baseline the device is measured against (perf-server
# --key-pkcs11-sync); the device's tests pass with it. Static RSA cipher
# suites (TLS 1.2's RSA key exchange: the token decrypts, no signature) so
# that pkcs11_tls_test can show that path too.
HSM_FLAGS      = --enable-asynccrypt --enable-static --enable-cryptocb --enable-pkcs11 $(call ASYNC_SW,$(1)) \
                 CPPFLAGS=-DWOLFSSL_STATIC_RSA
# X25519 key shares (asynchronous from 5.9.0 on).
X25519_FLAGS  := --enable-asynccrypt --enable-static --enable-curve25519
# Device kinds wolfSSL's suite runs on (chosen at run time, one build each).
# DEFAULT_DEVICES, SANITIZER_DEVICES and FULL_DEVICES are empty unless given
# on the command line: scripts/device-list.sh then prints them when the
# recipe runs (the dpdk device, and chaos over it, join where DPDK can start
# here; with ASYNCCRYPT_REQUIRE_DPDK=1, which .ci/run sets where libdpdk is
# installed, a DPDK that cannot start fails the run instead).
DEFAULT_DEVICES ?=
SANITIZER_DEVICES ?=
FULL_DEVICES ?=
# devices LIST,NAME: the shell words that set $devices to LIST, or to
# device-list.sh NAME's answer when LIST is empty (failing when it fails).
devices = devices="$(or $(1),$$(scripts/device-list.sh $(2)))"
ALL_DEVICES     ?= sim threads:inline_us=0
# Non-blocking ECC runs in slices on the simulator only.
NONBLOCK_DEVICES ?= sim

setup:
	scripts/setup.sh

wolfssl-default: setup
	scripts/build-wolfssl.sh --version $(V) default $(DEFAULT_FLAGS)

wolfssl-all: setup
	scripts/build-wolfssl.sh --version $(V) all $(call ALL_FLAGS,$(V))

wolfssl-fast: setup
	scripts/build-wolfssl.sh --version $(V) fast $(FAST_FLAGS)

wolfssl-nonblock: setup
	scripts/build-wolfssl.sh --version $(V) nonblock $(call NONBLOCK_FLAGS,$(V))

wolfssl-nonblock-rsa: setup
	scripts/build-wolfssl.sh --version $(V) --lib-only nonblock-rsa $(NONBLOCK_RSA_FLAGS)

wolfssl-hsm: setup
	scripts/build-wolfssl.sh --version $(V) --lib-only hsm $(call HSM_FLAGS,$(V))

wolfssl-x25519: setup
	scripts/build-wolfssl.sh --version $(V) x25519 $(X25519_FLAGS)

# The default configuration with libasynccrypt built with AddressSanitizer
# (sanitizer-conformance).
wolfssl-default-asan: setup
	ASYNCCRYPT_LIB_SANITIZE=address scripts/build-wolfssl.sh --version $(V) default-asan $(DEFAULT_FLAGS)

# Main job: the async TLS benchmark on loopback (perf-server + perf-client,
# devices none, sim and threads), one comparison table; then the HSM rows
# (scripts/hsm-bench.sh: the key in a SoftHSM2 token, wolfSSL's synchronous
# PKCS#11 code against the pkcs11 device, with and without 2 ms per
# signature), which need the hsm configuration. HSM=0 leaves them out.
run: wolfssl-fast $(if $(filter 0,$(HSM)),,wolfssl-hsm)
	scripts/run-main-job.sh

# The HSM rows alone.
hsm-bench: wolfssl-hsm
	scripts/hsm-bench.sh

# wolfCrypt's own benchmark, with its async rows, on our layer.
bench-wolfcrypt: wolfssl-fast
	scripts/bench-wolfcrypt.sh $(V)-fast sim threads

# The CMake presets build against build/wolfssl-5.9.2-default; another
# WOLFSSL_VERSION points them at its own tree.
PRESET_WOLFSSL = -DASYNCCRYPT_WOLFSSL_DIR=$(call TREE,$(V),default)

# The dev preset's build alone: what valgrind and soak need (depending on
# unit would run its whole suite again, 3 minutes of make test).
dev-build: wolfssl-default
	cmake --preset dev $(PRESET_WOLFSSL) >/dev/null
	cmake --build --preset dev -j $(JOBS)

# The tests run JOBS at a time: they take free ports and their own temporary
# directories (scripts/flaky.sh runs the unit suite so, under load).
unit: dev-build
	ctest --preset dev -j $(JOBS)

# ASan/UBSan runs every CTest test; TSan the unit suite (label "unit"): the
# TLS integration tests of the perf tools (label "perf") take a third of
# TSan's time and run in the dev and ASan builds (the 60-minute budget).
# The tsan test preset sets atexit_sleep_ms=0: TSan otherwise sleeps a second
# at the exit of every process whose threads still run, which every test of
# the dpdk device is (DPDK never joins its EAL threads): 144 of the 856 tests,
# a third of the stage.
sanitizers: wolfssl-default
	cmake --preset asan $(PRESET_WOLFSSL) >/dev/null && cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)
	cmake --preset tsan $(PRESET_WOLFSSL) >/dev/null && cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -L unit -j $(JOBS)

# Flaky-test hunt (scripts/flaky.sh): the unit suite (CTest label "unit")
# FLAKY_REPEAT times on the dev, asan and tsan presets while stress-ng keeps
# every CPU busy; lists every test that failed and how often, fails if any
# did. Not part of `make test`: see the README for how long it takes.
FLAKY_REPEAT ?= 20
export FLAKY_REPEAT
flaky: wolfssl-default
	scripts/flaky.sh

# What STYLE.md promises (scripts/lint.sh): clang-format, shellcheck, and
# clang-tidy on the library's sources with the dev build's compile commands.
lint: wolfssl-default
	cmake --preset dev $(PRESET_WOLFSSL) >/dev/null
	scripts/lint.sh

# The libFuzzer targets of fuzz/ (api, ops, spec) under ASan and UBSan,
# FUZZ_SECONDS each (default 600), against FUZZ_CONFIG's wolfSSL (default;
# x25519 adds X25519 to the operations). Not part of `make test`, which
# replays their corpora (fuzz_corpus_test). FUZZ_UPDATE_CORPUS=1 merges
# what adds coverage into fuzz/corpus/.
FUZZ_CONFIG ?= default
fuzz: wolfssl-$(FUZZ_CONFIG)
	scripts/fuzz.sh $(call TREE,$(V),$(FUZZ_CONFIG)) $(FUZZ_CONFIG)

# perf-server and perf-client under valgrind (memcheck, leaks): normal,
# failing (chaos fail=5) and aborted connections. About 40 s.
valgrind: dev-build
	scripts/valgrind-check.sh build/dev/tools/asynccrypt

# The soak test (scripts/soak.sh): 50,000 handshakes or 3 minutes, with
# resumption and random aborts; server descriptors and RSS must stay flat.
# Not part of `make test`; soak-short (2,000 handshakes) runs in CTest too
# (perf_soak_short).
soak: dev-build
	scripts/soak.sh build/dev/tools/asynccrypt
soak-short: dev-build
	SOAK_HANDSHAKES=2000 SOAK_ROUND=250 scripts/soak.sh build/dev/tools/asynccrypt

# wolfSSL's testsuite and unit test programs with libasynccrypt under ASan
# (the runtime preloaded), on sim, threads (inline_us=0), chaos, and dpdk and chaos over dpdk where DPDK can start (+46 s). About 3 minutes with the
# tree's build, 45 s without.
sanitizer-conformance: wolfssl-default-asan
	$(call devices,$(SANITIZER_DEVICES),sanitizer) && \
	  scripts/sanitizer-conformance.sh $(V)-default-asan $$devices

# Non-blocking ECC (docs/nonblock-ecc.md), and on 5.9 DH and X25519, against
# its own wolfSSL configuration: the unit tests, TLS 1.2/1.3 handshakes with
# an ECDSA certificate through the perf tools on the simulator, `asynccrypt
# bench`'s non-blocking rows; on 5.9 also non-blocking RSA (nonblock-rsa).
nonblock: wolfssl-nonblock
	cmake -S . -B build/nonblock -DCMAKE_BUILD_TYPE=Release \
	  -DASYNCCRYPT_WOLFSSL_DIR=$(call TREE,$(V),nonblock) >/dev/null
	cmake --build build/nonblock -j $(JOBS) --target nonblock_ecc_test nonblock_rsa_dh_test x25519_test asynccrypt_tool
	build/nonblock/tests/nonblock_ecc_test
	build/nonblock/tests/nonblock_rsa_dh_test
	build/nonblock/tests/x25519_test
	NONBLOCK_X25519=$(if $(filter 5.9.2,$(V)),1,0) scripts/nonblock-check.sh build/nonblock/tools/asynccrypt
	$(if $(filter 5.9.2,$(V)),$(MAKE) nonblock-rsa)

# Non-blocking RSA (5.9): nonblock_rsa_dh_test against its own configuration.
nonblock-rsa: wolfssl-nonblock-rsa
	cmake -S . -B build/nonblock-rsa -DCMAKE_BUILD_TYPE=Release \
	  -DASYNCCRYPT_WOLFSSL_DIR=$(call TREE,$(V),nonblock-rsa) >/dev/null
	cmake --build build/nonblock-rsa -j $(JOBS) --target nonblock_rsa_dh_test
	build/nonblock-rsa/tests/nonblock_rsa_dh_test

# Build folders of our tests: build/CONFIG for the newest version,
# build/CONFIG-VERSION for the older ones (each its own wolfSSL tree).
TEST_BUILD = build/$(1)$(if $(filter 5.9.2,$(V)),,-$(V))

# $(call plain_and_asan,CONFIG,TESTS,CTEST_REGEX): builds the unit test
# programs TESTS (and the tools) against wolfSSL configuration CONFIG into
# TEST_BUILD and runs them and the CTest tests matching CTEST_REGEX; then
# builds TESTS again under AddressSanitizer and UBSan (clang) into its -asan
# twin and runs them.
define plain_and_asan
cmake -S . -B $(call TEST_BUILD,$(1)) -DCMAKE_BUILD_TYPE=Debug \
  -DASYNCCRYPT_WOLFSSL_DIR=$(call TREE,$(V),$(1)) >/dev/null
cmake --build $(call TEST_BUILD,$(1)) -j $(JOBS) --target $(2) asynccrypt_tool
for t in $(2); do $(call TEST_BUILD,$(1))/tests/$$t || exit 1; done
ctest --test-dir $(call TEST_BUILD,$(1)) --output-on-failure -j $(JOBS) -R "$(3)"
cmake -S . -B $(call TEST_BUILD,$(1))-asan -DCMAKE_BUILD_TYPE=Debug \
  -DASYNCCRYPT_SANITIZE="address;undefined" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DASYNCCRYPT_WOLFSSL_DIR=$(call TREE,$(V),$(1)) >/dev/null
cmake --build $(call TEST_BUILD,$(1))-asan -j $(JOBS) --target $(2)
for t in $(2); do $(call TEST_BUILD,$(1))-asan/tests/$$t || exit 1; done
endef

# The pkcs11 device (docs/hsm.md) against the hsm configuration: its unit
# tests and TLS handshakes with keys in a SoftHSM2 token, perf-server with
# its key in a token (--key-device), and the unit and TLS tests again under
# AddressSanitizer (connections freed with a signature in flight). Without
# SoftHSM2 they skip; ASYNCCRYPT_REQUIRE_SOFTHSM=1 makes that a failure.
HSM_TESTS := pkcs11_device_test pkcs11_device_recovery_test pkcs11_device_open_test pkcs11_tls_test
hsm: wolfssl-hsm
	$(call plain_and_asan,hsm,$(HSM_TESTS),^perf_(certs|hsm_key_v.)$$)

# The same on the older versions users run (docs/hsm.md, "On 5.7.2 and
# 5.5.4"). Not in make test: 7 minutes on 2 cores from a clone with the
# sources fetched would take make test (47-52 minutes) too close to its
# 60-minute budget on a busy machine.
hsm-older: setup
	$(MAKE) WOLFSSL_VERSION=5.7.2 hsm
	$(MAKE) WOLFSSL_VERSION=5.5.4 hsm

# Asynchronous X25519 (wolfSSL 5.9): its unit tests against the x25519
# configuration, plain and under AddressSanitizer (freeing keys and
# connections with an X25519 operation in flight).
x25519: wolfssl-x25519
	$(call plain_and_asan,x25519,x25519_test,^perf_(certs|group_X25519_.*|interop_groups_.*)$$)

# wolfSSL's own suite (make check) on our layer, each configuration built
# once and its suite run on several devices. On WOLFSSL_VERSION (5.9.2):
# default, nonblock and x25519; then the older versions (conformance-older).
# Expected failures (wolfSSL bugs, per version) are in scripts/conformance.sh
# and docs/known-issues.md; an unexpected pass fails. The all configuration
# is in conformance-full only: on 5.9.2 one of its cipher-suite tests (TLS
# 1.3 post-handshake authentication) still fails (docs/known-issues.md 15).
X25519_DEVICES  ?= sim threads:inline_us=0 chaos:seed=1
conformance: wolfssl-default wolfssl-nonblock wolfssl-x25519
	$(call devices,$(DEFAULT_DEVICES),default) && \
	  scripts/conformance.sh $(V)-default $$devices
	scripts/conformance.sh $(V)-nonblock $(NONBLOCK_DEVICES)
	scripts/conformance.sh $(V)-x25519 $(X25519_DEVICES)
	$(MAKE) conformance-older

# The versions users run besides the newest, on a smaller matrix in make
# test (time): 5.7.2 (Debian 13) and 5.5.4 (Debian 12), default
# configuration. Their other configurations are in conformance-full.
OLDER_DEVICES ?= sim threads:inline_us=0 chaos:seed=1
conformance-older: setup
	$(MAKE) WOLFSSL_VERSION=5.7.2 wolfssl-default
	scripts/conformance.sh 5.7.2-default $(OLDER_DEVICES)
	$(MAKE) WOLFSSL_VERSION=5.5.4 wolfssl-default
	scripts/conformance.sh 5.5.4-default $(OLDER_DEVICES)

# The whole matrix (not in make test; see the README for its wall time):
# 5.9.2 and 5.7.2, configurations default, all, x25519 and nonblock, each on
# every device; 5.5.4 default and nonblock.
conformance-full: setup
	$(call devices,$(FULL_DEVICES),full) && \
	for v in 5.9.2 5.7.2; do \
	  $(MAKE) WOLFSSL_VERSION=$$v wolfssl-default wolfssl-all wolfssl-x25519 wolfssl-nonblock && \
	  for c in default all x25519 nonblock; do \
	    scripts/conformance.sh $$v-$$c $$devices || exit 1; \
	  done; \
	done
	$(MAKE) WOLFSSL_VERSION=5.5.4 wolfssl-default wolfssl-nonblock
	$(call devices,$(FULL_DEVICES),full) && \
	  scripts/conformance.sh 5.5.4-default $$devices
	scripts/conformance.sh 5.5.4-nonblock sim

# Every function of async.h is exported by the libwolfssl of each
# configuration `make test` builds, and a program linked with -lwolfssl
# alone calls them (scripts/check-exports.sh).
exports: wolfssl-default wolfssl-nonblock wolfssl-x25519 wolfssl-default-asan
	for c in default nonblock x25519 default-asan; do \
	  scripts/check-exports.sh $(call TREE,$(V),$$c) || exit 1; done

# Everything: exports, unit tests, examples, sanitizers, valgrind, then wolfSSL's own
# suite (plain, and a subset with libasynccrypt under ASan).
# Each stage prints its wall time, so that the 60-minute budget can be kept.
TEST_STAGES := exports unit lint sanitizers valgrind nonblock x25519 hsm conformance sanitizer-conformance
test:
	@total=$$(date +%s); \
	for stage in $(TEST_STAGES); do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$stage || exit 1; \
	  echo "== make test: $$stage passed in $$(( $$(date +%s) - start )) s"; \
	done; \
	echo "make test: all passed in $$(( $$(date +%s) - total )) s"
