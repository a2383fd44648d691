// The threads device declines operations cheaper than a hand-over
// (inline_us=): wc_AsyncSwInit answers 0 and wolfCrypt computes at once.
// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backends/threads/threads_device.h"
#include "backends/threads/worker_pool.h"
#include "core/clock.h"
#include "core/registry.h"
#include "support/gcm_op.h"
#include "support/test_queue.h"

namespace {

using testing_support::GcmOp;
using Bytes = std::vector<byte>;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Device opens a spec and closes it at the end of the test.
struct Device {
  explicit Device(const char* spec) { open_ret = asynccrypt_DevOpenSpec(&id, spec, nullptr); }
  ~Device() {
    if (open_ret == 0) wolfAsync_DevClose(&id);
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  asynccrypt_DevStats stats() const {
    asynccrypt_DevStats s{};
    EXPECT_EQ(asynccrypt_DevGetStats(id, &s), 0);
    return s;
  }
  int id = INVALID_DEVID;
  int open_ret = -1;
};

// CostedDevice is a threads device (one worker, a pool of its own) on which
// every operation costs what the test says, whatever it took on this
// machine (and resamples come when the test says): the pool measures costs
// on a ManualClock that moves by `cost` at each reading, and a worker reads
// it once before and once after an operation. Set cost before starting an
// operation; the estimate is learned before the operation is reported, so
// before its wait returns.
struct CostedDevice {
  CostedDevice(
      int inline_us, asynccrypt::Clock::duration initial_cost,
      asynccrypt::ThreadsDevice::LoneOps lone = asynccrypt::ThreadsDevice::LoneOps::kOffload,
      int measure_every = 1) {
    clock->set_step(initial_cost);
    auto pool = asynccrypt::WorkerPool::create(1, clock, measure_every, resample_clock);
    EXPECT_TRUE(pool.is_ok());
    if (!pool.is_ok()) return;
    auto device = std::make_shared<asynccrypt::ThreadsDevice>(
        pool.take(), asynccrypt::ThreadsDevice::kDefaultDepth,
        asynccrypt::ThreadsDevice::kDefaultBatch, inline_us, lone, probe_clock);
    auto adopted = asynccrypt::Registry::instance().adopt(device);
    EXPECT_TRUE(adopted.is_ok());
    if (adopted.is_ok()) id = adopted.value();
  }
  ~CostedDevice() {
    if (id != INVALID_DEVID) asynccrypt::Registry::instance().close(id);
  }
  CostedDevice(const CostedDevice&) = delete;
  CostedDevice& operator=(const CostedDevice&) = delete;
  void set_cost(asynccrypt::Clock::duration cost) { clock->set_step(cost); }
  asynccrypt_DevStats stats() const {
    asynccrypt_DevStats s{};
    EXPECT_EQ(asynccrypt_DevGetStats(id, &s), 0);
    return s;
  }
  // Lets the next resample come due (OpCosts::kResamplePeriod).
  void next_resample_period() { resample_clock->advance(asynccrypt::OpCosts::kResamplePeriod); }
  std::shared_ptr<asynccrypt::ManualClock> clock = std::make_shared<asynccrypt::ManualClock>();
  // What the pool times resamples on: moves only when the test says.
  std::shared_ptr<asynccrypt::ManualClock> resample_clock =
      std::make_shared<asynccrypt::ManualClock>();
  // What the lone rule spaces its probes on: a gap passes at every reading,
  // so they come one in LoneOpRule::kProbe however fast the test runs.
  std::shared_ptr<asynccrypt::ManualClock> probe_clock = [] {
    auto clock = std::make_shared<asynccrypt::ManualClock>();
    clock->set_step(asynccrypt::LoneOpRule::kProbeGap);
    return clock;
  }();
  int id = INVALID_DEVID;
};

// Runs one encryption to the end. Returns true when it pended.
bool encrypt_once(GcmOp& op) {
  int ret = op.start();
  const bool pended = ret == WC_PENDING_E;
  if (pended) ret = wc_AsyncWait(ret, op.dev(), WC_ASYNC_FLAG_NONE);
  EXPECT_EQ(ret, 0);
  EXPECT_TRUE(op.correct());
  return pended;
}

TEST(ThreadsDecline, BadInlineOptionFails) {
  for (const char* spec : {"threads:inline_us=-1", "threads:inline_us=x", "threads:inline_us="}) {
    int id = INVALID_DEVID;
    EXPECT_EQ(asynccrypt_DevOpenSpec(&id, spec, nullptr), BAD_FUNC_ARG) << spec;
  }
}

TEST(ThreadsDecline, CheapOperationsRunInTheCallerOnceMeasured) {
  // A pool of its own, so nothing has measured AES-GCM on it yet; each
  // operation costs 5 us there, half the 10 us threshold.
  CostedDevice dev(/*inline_us=*/10, microseconds(5));
  ASSERT_NE(dev.id, INVALID_DEVID);
  GcmOp op(dev.id, 7);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_TRUE(encrypt_once(op)) << "an unmeasured kind goes to a worker";
  EXPECT_TRUE(encrypt_once(op)) << "a second sample at once (the first may have run cold)";
  // Measured below the threshold: declined, except one resample per
  // period (OpCosts::kResamplePeriod), which keeps the estimate current.
  constexpr int kPeriods = 3;
  constexpr int kRunsPerPeriod = 500;
  int pended = 0;
  for (int period = 0; period < kPeriods; ++period) {
    for (int i = 0; i < kRunsPerPeriod; ++i) pended += encrypt_once(op) ? 1 : 0;
    dev.next_resample_period();
  }
  EXPECT_EQ(pended, kPeriods - 1) << "one resample as each later period began";
  const asynccrypt_DevStats s = dev.stats();
  EXPECT_EQ(s.declined, static_cast<word64>(kPeriods * kRunsPerPeriod - pended));
  EXPECT_EQ(s.submitted, static_cast<word64>(2 + pended));
}

TEST(ThreadsDecline, AResampleIsMeasuredHoweverRarelyWorkersMeasure) {
  // Workers that measure one operation in a million of each kind (the
  // first of a kind always): only resamples can correct the estimate.
  CostedDevice dev(/*inline_us=*/10, microseconds(5), asynccrypt::ThreadsDevice::LoneOps::kOffload,
                   /*measure_every=*/1'000'000);
  ASSERT_NE(dev.id, INVALID_DEVID);
  GcmOp op(dev.id, 8);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_TRUE(encrypt_once(op)) << "an unmeasured kind goes to a worker";
  EXPECT_TRUE(encrypt_once(op)) << "the first resample, at once";
  // The kind now costs 50 us, above the threshold; the estimate says 5 us,
  // so it is declined until the next resample reaches a worker.
  dev.set_cost(microseconds(50));
  constexpr int kBefore = 200;
  int pended_before = 0;
  for (int i = 0; i < kBefore; ++i) pended_before += encrypt_once(op) ? 1 : 0;
  EXPECT_EQ(pended_before, 0) << "no resample due";
  dev.next_resample_period();
  EXPECT_TRUE(encrypt_once(op)) << "the resample";
  // That resample was measured: the kind is costly now, and goes to the
  // workers every time.
  constexpr int kAfter = 20;
  int pended_after = 0;
  for (int i = 0; i < kAfter; ++i) pended_after += encrypt_once(op) ? 1 : 0;
  EXPECT_EQ(pended_after, kAfter);
}

// Runs `runs` encryptions on dev; returns how many pended, and the device's
// declined count in *declined.
template <typename D>
int pended_on(D& dev, byte seed, int runs, word64* declined) {
  GcmOp op(dev.id, seed);
  EXPECT_EQ(op.init_ret, 0);
  int pended = 0;
  for (int i = 0; i < runs; ++i) pended += encrypt_once(op) ? 1 : 0;
  *declined = dev.stats().declined;
  return pended;
}

// The same on a device opened from `spec`.
int pended_on(const char* spec, byte seed, int runs, word64* declined) {
  Device dev(spec);
  EXPECT_EQ(dev.open_ret, 0) << spec;
  return pended_on(dev, seed, runs, declined);
}

TEST(ThreadsDecline, InlineZeroSendsEverythingToTheWorkers) {
  word64 declined = 1;
  EXPECT_EQ(pended_on("threads:workers=3,inline_us=0", 9, 300, &declined), 300);
  EXPECT_EQ(declined, 0u);
}

TEST(ThreadsDecline, ExpensiveOperationsKeepGoingToTheWorkers) {
  // Each operation costs 100 us, above the 10 us threshold.
  CostedDevice dev(/*inline_us=*/10, microseconds(100));
  ASSERT_NE(dev.id, INVALID_DEVID);
  word64 declined = 0;
  EXPECT_GT(pended_on(dev, 11, 300, &declined), 290);
}

TEST(ThreadsDecline, BadLoneOptionFails) {
  for (const char* spec : {"threads:lone=", "threads:lone=sometimes", "threads:lone=1"}) {
    int id = INVALID_DEVID;
    EXPECT_EQ(asynccrypt_DevOpenSpec(&id, spec, nullptr), BAD_FUNC_ARG) << spec;
  }
  for (const char* spec : {"threads:lone=inline", "threads:lone=offload"}) {
    Device dev(spec);
    EXPECT_EQ(dev.open_ret, 0) << spec;
  }
}

TEST(ThreadsDecline, ACallerThatWaitsForEachOperationRunsThemItself) {
  // 100 us each, well above the threshold: only the lone rule keeps them.
  CostedDevice dev(/*inline_us=*/10, microseconds(100),
                   asynccrypt::ThreadsDevice::LoneOps::kRunInline);
  ASSERT_NE(dev.id, INVALID_DEVID);
  word64 declined = 0;
  constexpr int kRuns = 6400;
  const int pended = pended_on(dev, 17, kRuns, &declined);
  // The first dozen go (a burst is assumed until it is not), then about one
  // in LoneOpRule::kProbe (100 expected) as probes.
  EXPECT_GE(pended, 8 + 60);
  EXPECT_LE(pended, 12 + 140);
  const asynccrypt_DevStats s = dev.stats();
  EXPECT_EQ(s.declined_alone, static_cast<word64>(kRuns - pended));
  EXPECT_EQ(s.declined, s.declined_alone);
}

TEST(ThreadsDecline, ProbesAreMeasuredSoACostlyFirstRunIsUnlearned) {
  // The first run of a kind took 100 us (a cold worker); the kind really
  // costs 1 us. A caller that waits for each operation keeps everything
  // inline (the lone rule), so only probes reach the workers, and these
  // workers measure nothing else (one operation in a million).
  CostedDevice dev(/*inline_us=*/10, microseconds(100),
                   asynccrypt::ThreadsDevice::LoneOps::kRunInline, /*measure_every=*/1'000'000);
  ASSERT_NE(dev.id, INVALID_DEVID);
  GcmOp op(dev.id, 29);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_TRUE(encrypt_once(op)) << "unmeasured: to a worker, measured at 100 us";
  dev.set_cost(microseconds(1));
  // About 40 samples pull 100 us below 10 us (1/16 of the gap each); a
  // probe is one lone operation in 64.
  constexpr int kRuns = 64 * 100;
  for (int i = 0; i < kRuns; ++i) (void)encrypt_once(op);
  const asynccrypt_DevStats s = dev.stats();
  // Declined as a cheap kind, not only by the lone rule.
  EXPECT_GT(s.declined, s.declined_alone + 1000)
      << "declined " << s.declined << ", of those alone " << s.declined_alone;
}

TEST(ThreadsDecline, OperationsStartedBeforeAnotherIsHarvestedGoToTheWorkers) {
  CostedDevice dev(/*inline_us=*/10, microseconds(100),
                   asynccrypt::ThreadsDevice::LoneOps::kRunInline);
  ASSERT_NE(dev.id, INVALID_DEVID);
  word64 declined = 0;
  (void)pended_on(dev, 19, 100, &declined);  // learned: a caller that waits
  ASSERT_GT(declined, 50u);
  // Now the caller starts a second operation before it harvests the first,
  // as a loop serving several connections does. A lone first one still
  // runs inline until a probe goes; the second then finds it unharvested
  // and goes too, and a few such pairs make lone ones go again.
  asynccrypt::EventQueue queue = testing_support::new_queue();
  GcmOp first(dev.id, 21);
  GcmOp second(dev.id, 23);
  ASSERT_EQ(first.init_ret, 0);
  ASSERT_EQ(second.init_ret, 0);
  int first_pended = 0;
  bool probed = false;
  for (int i = 0; i < 200; ++i) {
    std::vector<WC_ASYNC_DEV*> pending;
    const int ret_first = first.start();
    if (probed) {
      EXPECT_EQ(ret_first, WC_PENDING_E) << "round " << i << ": overlap was seen";
    }
    if (ret_first == WC_PENDING_E) {
      probed = true;
      ++first_pended;
      ASSERT_EQ(wc_AsyncHandle(first.dev(), queue.get(), WC_ASYNC_FLAG_NONE), 0);
      pending.push_back(first.dev());
    }
    const int ret_second = second.start();
    if (ret_first == WC_PENDING_E) {
      EXPECT_EQ(ret_second, WC_PENDING_E) << "round " << i << ": the first was not harvested";
    }
    if (ret_second == WC_PENDING_E) {
      ASSERT_EQ(wc_AsyncHandle(second.dev(), queue.get(), WC_ASYNC_FLAG_NONE), 0);
      pending.push_back(second.dev());
    }
    std::size_t left = pending.size();
    for (long spins = 0; left > 0 && spins < 10'000'000; ++spins) {
      WOLF_EVENT* events[2];
      const auto polled = queue.poll(events, 2);
      ASSERT_TRUE(polled);
      for (int e = 0; e < *polled; ++e) {
        EXPECT_EQ(wolfAsync_EventPop(events[e], WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), 0);
        --left;
      }
    }
    ASSERT_EQ(left, 0u) << "round " << i;
    EXPECT_TRUE(first.correct());
    EXPECT_TRUE(second.correct());
  }
  // Inline only until a probe falls on a first operation (one in 64 of
  // them: the probes are random, but the same in every run).
  EXPECT_GE(first_pended, 100);
}

TEST(ThreadsDecline, LoneOffloadHandsEveryCostlyOperationOver) {
  Device dev("threads:workers=1,inline_us=1000000,lone=offload");
  ASSERT_EQ(dev.open_ret, 0);
  // inline_us=1000000 declines what is measured (everything), so this only
  // shows that lone= adds nothing: declined_alone stays 0.
  word64 declined = 0;
  (void)pended_on(dev, 25, 100, &declined);
  EXPECT_EQ(dev.stats().declined_alone, 0u);
}

TEST(ThreadsDecline, OtherDeviceKindsNeverDecline) {
  word64 declined = 1;
  EXPECT_EQ(pended_on("sim", 13, 200, &declined), 200);
  EXPECT_EQ(declined, 0u);
}

// An RSA-2048 key on dev_id: the private key of wolfSSL's test buffers, or
// only its public part.
void load_rsa(RsaKey* key, int dev_id, bool public_only) {
  ASSERT_EQ(wc_InitRsaKey_ex(key, nullptr, dev_id), 0);
  word32 idx = 0;
  if (!public_only) {
    ASSERT_EQ(wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, key, sizeof_client_key_der_2048),
              0);
    return;
  }
  RsaKey full;
  load_rsa(&full, INVALID_DEVID, false);
  byte n[256];
  byte e[8];
  word32 n_sz = sizeof n;
  word32 e_sz = sizeof e;
  ASSERT_EQ(wc_RsaFlattenPublicKey(&full, e, &e_sz, n, &n_sz), 0);
  wc_FreeRsaKey(&full);
  ASSERT_EQ(wc_RsaPublicKeyDecodeRaw(n, n_sz, e, e_sz, key), 0);
}

// One raw RSA operation (public or private) on key, waited for. Returns
// true when it pended.
bool rsa_once(RsaKey* key, WC_RNG* rng, bool private_op) {
  byte in[256] = {};
  in[255] = 3;  // below the modulus
  byte out[256];
  word32 out_sz = sizeof out;
  const int type = private_op ? RSA_PRIVATE_DECRYPT : RSA_PUBLIC_ENCRYPT;
  int ret = wc_RsaFunction(in, sizeof in, out, &out_sz, type, key, rng);
  const bool pended = ret == WC_PENDING_E;
  if (pended) ret = wc_AsyncWait(ret, &key->asyncDev, WC_ASYNC_FLAG_NONE);
  EXPECT_EQ(ret, 0);
  return pended;
}

// wolfCrypt records both as ASYNC_SW_RSA_FUNC, but an operation on a
// public key (a peer's certificate) costs far less than a signature: they
// are learned apart, so public-key operations can be declined while
// private-key ones keep going to the workers. The costs are set (2 ms and
// 20 us, about what RSA-2048 takes) around a 200 us threshold, so the
// answer does not depend on this machine's speed.
TEST(ThreadsDecline, PublicAndPrivateRsaAreLearnedApart) {
  constexpr int kThresholdUs = 200;
  constexpr auto kPrivateCost = milliseconds(2);
  constexpr auto kPublicCost = microseconds(20);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  CostedDevice dev(kThresholdUs, kPrivateCost);
  ASSERT_NE(dev.id, INVALID_DEVID);
  RsaKey private_key;
  RsaKey public_key;
  load_rsa(&private_key, dev.id, false);
  load_rsa(&public_key, dev.id, true);
  wc_RsaSetRNG(&private_key, &rng);
  int private_pended = 0;
  int public_pended = 0;
  constexpr int kRuns = 40;
  for (int i = 0; i < kRuns; ++i) {
    dev.set_cost(kPrivateCost);
    private_pended += rsa_once(&private_key, &rng, true) ? 1 : 0;
    dev.set_cost(kPublicCost);
    public_pended += rsa_once(&public_key, &rng, false) ? 1 : 0;
  }
  EXPECT_EQ(private_pended, kRuns) << "private costs 2 ms, threshold " << kThresholdUs << " us";
  EXPECT_LT(public_pended, kRuns / 4) << "public costs 20 us, threshold " << kThresholdUs << " us";
  wc_FreeRsaKey(&private_key);
  wc_FreeRsaKey(&public_key);
  wc_FreeRng(&rng);
}

#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
// Known issue 10 (docs/known-issues.md): on a key with a device, wolfSSL
// before 5.6.3 (5.5.4 here) leaves wc_ecc_shared_secret's state at "result"
// after a synchronous secret, expecting a call-again; so the key's next ECDH
// returns at once with nothing computed. A declined ECDH would be such a
// call: this shows the bug (by recording a dummy operation so that
// wc_AsyncSwInit answers 0, as a decline does), and that asynccrypt never
// declines ECDH there. From 5.6.3 on the state moves only when the
// operation pends, so a declined ECDH is right and may be declined.
class EcdhDecline : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(wc_InitRng(&rng_), 0);
    ASSERT_EQ(wc_ecc_init_ex(&peer_a_, nullptr, INVALID_DEVID), 0);
    ASSERT_EQ(wc_ecc_init_ex(&peer_b_, nullptr, INVALID_DEVID), 0);
    ASSERT_EQ(wc_ecc_make_key(&rng_, 32, &peer_a_), 0);
    ASSERT_EQ(wc_ecc_make_key(&rng_, 32, &peer_b_), 0);
  }
  void TearDown() override {
    wc_ecc_free(&peer_a_);
    wc_ecc_free(&peer_b_);
    wc_FreeRng(&rng_);
  }
  // Loads wolfSSL's P-256 test key into key, bound to dev_id.
  void load(ecc_key* key, int dev_id) {
    ASSERT_EQ(wc_ecc_init_ex(key, nullptr, dev_id), 0);
    word32 idx = 0;
    ASSERT_EQ(wc_EccPrivateKeyDecode(ecc_key_der_256, &idx, key, sizeof_ecc_key_der_256), 0);
    wc_ecc_set_rng(key, &rng_);
  }
  // The secret of key and peer computed without a device.
  Bytes expected(ecc_key* peer) {
    ecc_key sync;
    load(&sync, INVALID_DEVID);
    Bytes out(32);
    word32 sz = 32;
    EXPECT_EQ(wc_ecc_shared_secret(&sync, peer, out.data(), &sz), 0);
    wc_ecc_free(&sync);
    return out;
  }
  WC_RNG rng_;
  ecc_key peer_a_;
  ecc_key peer_b_;
};

#if LIBWOLFSSL_VERSION_HEX < 0x05006003
TEST_F(EcdhDecline, KnownIssue10ASynchronousSecretLeavesTheKeyStale) {
  Device dev("sim");
  ASSERT_EQ(dev.open_ret, 0);
  ecc_key key;
  load(&key, dev.id);
  Bytes first(32);
  word32 sz = 32;
  key.asyncDev.sw.type = ASYNC_SW_ECC_SHARED_SEC;  // wc_AsyncSwInit now answers 0
  ASSERT_EQ(wc_ecc_shared_secret(&key, &peer_a_, first.data(), &sz), 0);
  key.asyncDev.sw.type = ASYNC_SW_NONE;
  EXPECT_EQ(first, expected(&peer_a_)) << "the synchronous secret itself is right";
  EXPECT_NE(key.state, 0) << "but the key is left mid-state";
  Bytes second(32, 0xEE);
  sz = 32;
  EXPECT_EQ(wc_ecc_shared_secret(&key, &peer_b_, second.data(), &sz), 0);
  EXPECT_EQ(second, Bytes(32, 0xEE)) << "the next ECDH returned without computing";
  wc_ecc_free(&key);
}

TEST_F(EcdhDecline, EcdhIsNeverDeclined) {
  // Every operation costs 1 us, below the threshold: every other kind is
  // declined once measured, ECDH never.
  CostedDevice dev(/*inline_us=*/10, microseconds(1));
  ASSERT_NE(dev.id, INVALID_DEVID);
  ecc_key key;
  load(&key, dev.id);
  for (int i = 0; i < 20; ++i) {
    ecc_key* peer = i % 2 == 0 ? &peer_a_ : &peer_b_;
    Bytes out(32);
    word32 sz = 32;
    int ret = wc_ecc_shared_secret(&key, peer, out.data(), &sz);
    ASSERT_EQ(ret, WC_PENDING_E) << "run " << i;
    ret = wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_NONE);
    ASSERT_EQ(ret, 0);
    sz = 32;
    ASSERT_EQ(wc_ecc_shared_secret(&key, peer, out.data(), &sz), 0);  // the call-again
    EXPECT_EQ(out, expected(peer)) << "run " << i;
  }
  EXPECT_EQ(dev.stats().declined, 0u);
  wc_ecc_free(&key);
}
#else
TEST_F(EcdhDecline, ASynchronousSecretLeavesTheKeyReady) {
  Device dev("sim");
  ASSERT_EQ(dev.open_ret, 0);
  ecc_key key;
  load(&key, dev.id);
  for (ecc_key* peer : {&peer_a_, &peer_b_}) {
    Bytes out(32);
    word32 sz = 32;
    key.asyncDev.sw.type = ASYNC_SW_ECC_SHARED_SEC;  // wc_AsyncSwInit now answers 0
    ASSERT_EQ(wc_ecc_shared_secret(&key, peer, out.data(), &sz), 0);
    key.asyncDev.sw.type = ASYNC_SW_NONE;
    EXPECT_EQ(out, expected(peer));
    EXPECT_EQ(key.state, 0) << "the key is ready for its next ECDH";
  }
  wc_ecc_free(&key);
}

TEST_F(EcdhDecline, DeclinedEcdhIsRight) {
  // A threshold no operation stays under: once measured, ECDH is declined
  // and computed at once, with the right secret.
  Device dev("threads:workers=3,inline_us=1000000");
  ASSERT_EQ(dev.open_ret, 0);
  ecc_key key;
  load(&key, dev.id);
  for (int i = 0; i < 20; ++i) {
    ecc_key* peer = i % 2 == 0 ? &peer_a_ : &peer_b_;
    Bytes out(32);
    word32 sz = 32;
    int ret = wc_ecc_shared_secret(&key, peer, out.data(), &sz);
    if (ret == WC_PENDING_E) {
      ASSERT_EQ(wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_NONE), 0);
      sz = 32;
      ret = wc_ecc_shared_secret(&key, peer, out.data(), &sz);  // the call-again
    }
    ASSERT_EQ(ret, 0) << "run " << i;
    EXPECT_EQ(out, expected(peer)) << "run " << i;
  }
  EXPECT_GT(dev.stats().declined, 0u);
  wc_ecc_free(&key);
}
#endif

// Key generation for a TLS key share always goes to a worker, however cheap
// and however lone: wolfSSL's TLS 1.3 server fails the handshake when the
// key was made synchronously and its secret then pends (threads_device.cc).
TEST_F(EcdhDecline, KeyGenerationIsNeverDeclined) {
  CostedDevice dev(/*inline_us=*/10, microseconds(1),
                   asynccrypt::ThreadsDevice::LoneOps::kRunInline);
  ASSERT_NE(dev.id, INVALID_DEVID);
  for (int i = 0; i < 40; ++i) {
    ecc_key key;
    ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, dev.id), 0);
    int ret = wc_ecc_make_key_ex(&rng_, 32, &key, ECC_SECP256R1);
    EXPECT_EQ(ret, WC_PENDING_E) << "run " << i;
    if (ret == WC_PENDING_E) ret = wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_NONE);
    EXPECT_EQ(ret, 0) << "run " << i;
    EXPECT_EQ(wc_ecc_check_key(&key), 0) << "run " << i;
    wc_ecc_free(&key);
  }
  EXPECT_EQ(dev.stats().declined, 0u);
}

// ECDSA signatures on one key, some pended and some declined (computed at
// once): each must verify, whichever way it went.
TEST_F(EcdhDecline, SignaturesPendedAndDeclinedOnOneKeyVerify) {
  CostedDevice dev(/*inline_us=*/10, microseconds(5));
  ASSERT_NE(dev.id, INVALID_DEVID);
  ecc_key key;
  load(&key, dev.id);
  ecc_key verifier;
  load(&verifier, INVALID_DEVID);
  int pended = 0;
  for (int i = 0; i < 400; ++i) {
    byte hash[32];
    for (std::size_t b = 0; b < sizeof hash; ++b) hash[b] = static_cast<byte>(i + b);
    byte sig[ECC_MAX_SIG_SIZE];
    word32 sig_sz = sizeof sig;
    int ret = wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_sz, &rng_, &key);
    if (ret == WC_PENDING_E) {
      ++pended;
      ASSERT_EQ(wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN), 0);
      ret = wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_sz, &rng_, &key);  // the call-again
    }
    ASSERT_EQ(ret, 0) << "run " << i;
    int verified = 0;
    ASSERT_EQ(wc_ecc_verify_hash(sig, sig_sz, hash, sizeof hash, &verified, &verifier), 0);
    EXPECT_EQ(verified, 1) << "run " << i << (ret == 0 ? "" : " pended");
  }
  EXPECT_GT(pended, 0);
  EXPECT_GT(dev.stats().declined, 0u);
  wc_ecc_free(&verifier);
  wc_ecc_free(&key);
}
#endif

TEST(ThreadsDecline, ObjectsWithoutADeviceAreUntouched) {
  GcmOp op(INVALID_DEVID, 15);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_FALSE(encrypt_once(op));
}

}  // namespace
