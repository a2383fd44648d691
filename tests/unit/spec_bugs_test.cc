// One test per bug of the original layer (spec section 9) that this layer could have.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifndef USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_2048
#endif
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/registry.h"

namespace {

constexpr word32 kGcmSz = 2 * WC_ASYNC_THRESH_AES_GCM;
constexpr word32 kIvSz = 12;
constexpr word32 kTagSz = 16;
constexpr word32 kRsaSz = 256;  // 2048-bit key

// Walks wolfSSL's list of a queue and checks that it agrees with its count
// and that every back link is right. Returns the number of linked events.
int checked_length(WOLF_EVENT_QUEUE* queue) {
  int n = 0;
  WOLF_EVENT* prev = nullptr;
  for (WOLF_EVENT* e = queue->head; e != nullptr; e = e->next) {
    EXPECT_EQ(e->prev, prev);
    prev = e;
    if (++n > 100000) break;
  }
  EXPECT_EQ(queue->tail, prev);
  EXPECT_EQ(queue->count, n);
  EXPECT_EQ(wolfEventQueue_Count(queue), n);
  return n;
}

// A fresh simulator, queue and RNG for each test.
class SpecBugsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id_, "sim:skip=0", nullptr), 0);
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    ASSERT_EQ(wc_InitRng(&rng_), 0);
  }
  void TearDown() override {
    EXPECT_EQ(queue_.count, 0);
    EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
    wolfEventQueue_Free(&queue_);
    wc_FreeRng(&rng_);
    wolfAsync_DevClose(&dev_id_);
  }

  // Polls the queue once with CHECK_HW; returns the harvest count or error.
  int poll(WOLF_EVENT** events, int max_events) {
    int count = -1;
    const int ret = wolfAsync_EventQueuePoll(&queue_, nullptr, events, max_events,
                                             WOLF_POLL_FLAG_CHECK_HW, &count);
    return ret != 0 ? ret : count;
  }

  // Runs a pending operation of dev through the queue and returns its result.
  int run_queued(WC_ASYNC_DEV* dev, word32 flags) {
    int ret = wc_AsyncHandle(dev, &queue_, flags);
    if (ret != 0) return ret;
    WOLF_EVENT* events[1];
    for (int i = 0; i < 100; ++i) {
      const int n = poll(events, 1);
      if (n < 0) return n;
      if (n == 1) {
        EXPECT_EQ(events[0], &dev->event);
        return wolfAsync_EventPop(&dev->event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
      }
    }
    return WC_TIMEOUT_E;
  }

  void make_ecc_key(ecc_key* key, int dev_id) {
    ASSERT_EQ(wc_ecc_init_ex(key, nullptr, dev_id), 0);
    int ret = wc_ecc_make_key(&rng_, 32, key);
    if (dev_id != INVALID_DEVID) {
      ASSERT_EQ(ret, WC_PENDING_E);
      ret = wc_AsyncWait(ret, &key->asyncDev, WC_ASYNC_FLAG_NONE);
    }
    ASSERT_EQ(ret, 0);
  }

  void load_rsa_key(RsaKey* key, int dev_id) {
    ASSERT_EQ(wc_InitRsaKey_ex(key, nullptr, dev_id), 0);
    word32 idx = 0;
    ASSERT_EQ(wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, key, sizeof_client_key_der_2048),
              0);
    ASSERT_EQ(wc_RsaEncryptSize(key), static_cast<int>(kRsaSz));
  }

  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_;
  WC_RNG rng_;
};

// ---------------------------------------------------------------------------
// #17: devId out-parameters are always written; INVALID_DEVID on failure.
// ---------------------------------------------------------------------------

TEST(SpecBug17, DevOpenWritesTheIdEvenWhenItWasZero) {
  for (int preset : {0, 1, 4000, INVALID_DEVID}) {
    int id = preset;
    ASSERT_EQ(wolfAsync_DevOpen(&id), 0);
    char kind[16];
    EXPECT_EQ(asynccrypt_DevKind(id, kind, sizeof kind), 0) << "preset " << preset;
    wolfAsync_DevClose(&id);
  }
}

TEST(SpecBug17, DevOpenThreadWritesTheIdEvenWhenItWasZero) {
  pthread_t self = pthread_self();
  std::set<int> ids;
  std::vector<int> opened;
  for (int preset : {0, 0, 7}) {
    int id = preset;
    ASSERT_EQ(wolfAsync_DevOpenThread(&id, &self), 0);
    EXPECT_GE(id, 0);
    ids.insert(id);
    opened.push_back(id);
  }
  EXPECT_EQ(ids.size(), 3u);  // each open is a device of its own
  for (int id : opened) {
    char kind[16];
    EXPECT_EQ(asynccrypt_DevKind(id, kind, sizeof kind), 0);
    wolfAsync_DevClose(&id);
  }
}

TEST(SpecBug17, FailedOpensWriteInvalidDevId) {
  int id = 0;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "no-such-device", nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(id, INVALID_DEVID);

  // A bad default spec: the standard opens fail with ASYNC_INIT_E.
  const char* old = std::getenv("ASYNCCRYPT_DEVICE");
  const std::string saved = old != nullptr ? old : "";
  ASSERT_EQ(setenv("ASYNCCRYPT_DEVICE", "no-such-device", 1), 0);
  id = 0;
  EXPECT_EQ(wolfAsync_DevOpen(&id), ASYNC_INIT_E);
  EXPECT_EQ(id, INVALID_DEVID);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("no-such-device"), std::string::npos);
  id = 0;
  EXPECT_EQ(wolfAsync_DevOpenThread(&id, nullptr), ASYNC_INIT_E);
  EXPECT_EQ(id, INVALID_DEVID);
  if (old != nullptr) {
    setenv("ASYNCCRYPT_DEVICE", saved.c_str(), 1);
  } else {
    unsetenv("ASYNCCRYPT_DEVICE");
  }
}

TEST(SpecBug17, InvalidDevIdMeansSynchronousAndZeroMeansAsync) {
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_ECC, nullptr, INVALID_DEVID), 0);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_INVALID));
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_ECC, nullptr, 0), 0);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_ECC));
  EXPECT_EQ(dev.devId, 0);
}

// ---------------------------------------------------------------------------
// #18: the simulator resets after an error result; skip applies to waits.
// ---------------------------------------------------------------------------

TEST_F(SpecBugsTest, Bug18EccErrorCompletionLeavesTheKeyAsync) {
  ecc_key a;
  ecc_key b;
  make_ecc_key(&a, dev_id_);
  make_ecc_key(&b, INVALID_DEVID);
  ASSERT_EQ(wc_ecc_set_rng(&a, &rng_), 0);  // timing-resistant ECDH needs one
  ASSERT_EQ(wc_ecc_set_rng(&b, &rng_), 0);

  // Too small an output buffer: the error comes from the deferred computation.
  byte secret[64];
  word32 len = 8;
  ASSERT_EQ(wc_ecc_shared_secret(&a, &b, secret, &len), WC_PENDING_E);
  EXPECT_EQ(run_queued(&a.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN), BUFFER_E);
  EXPECT_EQ(a.asyncDev.sw.type, ASYNC_SW_NONE);
  EXPECT_EQ(a.asyncDev.inflight, nullptr);

  // The next operation takes the asynchronous path again (the original ran
  // it synchronously forever after an error).
  len = sizeof secret;
  int ret = wc_ecc_shared_secret(&a, &b, secret, &len);
  ASSERT_EQ(ret, WC_PENDING_E);
  ret = run_queued(&a.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
  ASSERT_EQ(ret, 0);
  ret = wc_ecc_shared_secret(&a, &b, secret, &len);  // call again: the result
  ASSERT_EQ(ret, 0);
  ASSERT_EQ(len, 32u);

  byte expected[64];
  word32 expected_len = sizeof expected;
  ASSERT_EQ(wc_ecc_shared_secret(&b, &a, expected, &expected_len), 0);
  ASSERT_EQ(expected_len, len);
  EXPECT_EQ(std::memcmp(secret, expected, len), 0);

  // And a signature, waited for, works as well.
  byte hash[32] = {1, 2, 3};
  byte sig[ECC_MAX_SIG_SIZE];
  word32 sig_len = sizeof sig;
  ret = 0;
  int pends = 0;
  do {
    ret = wc_AsyncWait(ret, &a.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) ret = wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng_, &a);
    if (ret == WC_PENDING_E) ++pends;
  } while (ret == WC_PENDING_E && pends < 10);
  ASSERT_EQ(ret, 0);
  EXPECT_GE(pends, 1);
  int verified = 0;
  ASSERT_EQ(wc_ecc_verify_hash(sig, sig_len, hash, sizeof hash, &verified, &a), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncWait(WC_PENDING_E, &a.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  ASSERT_EQ(wc_ecc_verify_hash(sig, sig_len, hash, sizeof hash, &verified, &a), 0);
  EXPECT_EQ(verified, 1);

  wc_ecc_free(&a);
  wc_ecc_free(&b);
}

TEST_F(SpecBugsTest, Bug18RsaErrorCompletionLeavesTheKeyAsync) {
  RsaKey key;
  RsaKey sync_key;
  load_rsa_key(&key, dev_id_);
  load_rsa_key(&sync_key, INVALID_DEVID);
  byte in[kRsaSz];
  for (word32 i = 0; i < kRsaSz; ++i) in[i] = static_cast<byte>(i * 7 + 1);
  in[0] = 0;  // below the modulus
  byte out[kRsaSz];

  // An output buffer smaller than the key: the deferred run fails.
  word32 out_len = 16;
  int ret = wc_RsaFunction(in, kRsaSz, out, &out_len, RSA_PUBLIC_ENCRYPT, &key, &rng_);
  ASSERT_EQ(ret, WC_PENDING_E);
  EXPECT_EQ(wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN), RSA_BUFFER_E);
  EXPECT_EQ(key.asyncDev.sw.type, ASYNC_SW_NONE);

  // The right size pends again and gives the right answer.
  out_len = kRsaSz;
  ret = wc_RsaFunction(in, kRsaSz, out, &out_len, RSA_PUBLIC_ENCRYPT, &key, &rng_);
  ASSERT_EQ(ret, WC_PENDING_E);
  EXPECT_EQ(run_queued(&key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  byte expected[kRsaSz];
  word32 expected_len = kRsaSz;
  ASSERT_EQ(
      wc_RsaFunction(in, kRsaSz, expected, &expected_len, RSA_PUBLIC_ENCRYPT, &sync_key, &rng_), 0);
  ASSERT_EQ(out_len, expected_len);
  EXPECT_EQ(std::memcmp(out, expected, kRsaSz), 0);

  wc_FreeRsaKey(&key);
  wc_FreeRsaKey(&sync_key);
}

TEST_F(SpecBugsTest, Bug18AesGcmAuthFailureLeavesTheObjectAsync) {
  Aes aes;
  byte key[16] = {9};
  byte iv[kIvSz] = {4};
  byte plain[kGcmSz] = {5};
  byte cipher[kGcmSz];
  byte tag[kTagSz];
  byte back[kGcmSz];
  ASSERT_EQ(wc_AesInit(&aes, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&aes, key, sizeof key), 0);
  ASSERT_EQ(wc_AesGcmEncrypt(&aes, cipher, plain, kGcmSz, iv, kIvSz, tag, kTagSz, nullptr, 0),
            WC_PENDING_E);
  ASSERT_EQ(run_queued(&aes.asyncDev, WC_ASYNC_FLAG_NONE), 0);

  tag[3] ^= 0x10;
  ASSERT_EQ(wc_AesGcmDecrypt(&aes, back, cipher, kGcmSz, iv, kIvSz, tag, kTagSz, nullptr, 0),
            WC_PENDING_E);
  EXPECT_EQ(run_queued(&aes.asyncDev, WC_ASYNC_FLAG_NONE), AES_GCM_AUTH_E);

  tag[3] ^= 0x10;
  ASSERT_EQ(wc_AesGcmDecrypt(&aes, back, cipher, kGcmSz, iv, kIvSz, tag, kTagSz, nullptr, 0),
            WC_PENDING_E);
  EXPECT_EQ(run_queued(&aes.asyncDev, WC_ASYNC_FLAG_NONE), 0);
  EXPECT_EQ(std::memcmp(back, plain, kGcmSz), 0);
  wc_AesFree(&aes);
}

TEST(SpecBug18, SkipAppliesToWaits) {
  int dev_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id, "sim:skip=2", nullptr), 0);
  byte key[16] = {1};
  byte iv[kIvSz] = {2};
  byte in[kGcmSz] = {3};
  Aes aes[3];
  byte out[3][kGcmSz];
  byte tag[3][kTagSz];
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(wc_AesInit(&aes[i], nullptr, dev_id), 0);
    ASSERT_EQ(wc_AesGcmSetKey(&aes[i], key, sizeof key), 0);
    ASSERT_EQ(wc_AesGcmEncrypt(&aes[i], out[i], in, kGcmSz, iv, kIvSz, tag[i], kTagSz, nullptr, 0),
              WC_PENDING_E);
  }
  // Single poll #1 is not delayed.
  WOLF_EVENT* e0 = &aes[0].asyncDev.event;
  ASSERT_EQ(wolfAsync_EventInit(e0, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, &aes[0].asyncDev, 0), 0);
  ASSERT_EQ(wolfAsync_EventPoll(e0, WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(e0->state, WOLF_EVENT_STATE_DONE);
  // The wait is delayed once (poll #2) and finishes at poll #3.
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, &aes[1].asyncDev, WC_ASYNC_FLAG_NONE), 0);
  // So the next single poll is #4, which is delayed: had the wait not been
  // delayed, this would be poll #3 and finish.
  WOLF_EVENT* e2 = &aes[2].asyncDev.event;
  ASSERT_EQ(wolfAsync_EventInit(e2, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, &aes[2].asyncDev, 0), 0);
  ASSERT_EQ(wolfAsync_EventPoll(e2, WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(e2->state, WOLF_EVENT_STATE_PENDING);
  ASSERT_EQ(wolfAsync_EventPoll(e2, WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(e2->state, WOLF_EVENT_STATE_DONE);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(std::memcmp(out[i], out[0], kGcmSz), 0);
    wc_AesFree(&aes[i]);
  }
  wolfAsync_DevClose(&dev_id);
}

// ---------------------------------------------------------------------------
// #19: the hardware start/stop count is thread-safe.
// ---------------------------------------------------------------------------

TEST(SpecBug19, ConcurrentStartStopEndsAtZero) {
  auto& registry = asynccrypt::Registry::instance();
  while (registry.hardware_count() > 0) wolfAsync_HardwareStop();
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        if (wolfAsync_HardwareStart() != 0) ++failures;
        if (registry.hardware_count() < 1) ++failures;
        wolfAsync_HardwareStop();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(registry.hardware_count(), 0);
  // Stops without starts are harmless and never go below zero.
  wolfAsync_HardwareStop();
  wolfAsync_HardwareStop();
  EXPECT_EQ(registry.hardware_count(), 0);
  EXPECT_EQ(wolfAsync_HardwareStart(), 0);
  EXPECT_EQ(registry.hardware_count(), 1);
  wolfAsync_HardwareStop();
  EXPECT_EQ(registry.hardware_count(), 0);
}

TEST(SpecBug19, ConcurrentStartsThenStopsAndDefaultOpens) {
  auto& registry = asynccrypt::Registry::instance();
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (wolfAsync_HardwareStart() != 0) ++failures;
      }
      int id = INVALID_DEVID;
      if (wolfAsync_DevOpen(&id) != 0) ++failures;
      for (int i = 0; i < 100; ++i) wolfAsync_HardwareStop();
      wolfAsync_DevClose(&id);
      // Extra stops from every thread.
      wolfAsync_HardwareStop();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(registry.hardware_count(), 0);
}

// ---------------------------------------------------------------------------
// #20: removing events never corrupts the wolfEventQueue count.
// ---------------------------------------------------------------------------

TEST(SpecBug20, CountMatchesThroughHarvestsAndCancels) {
  int dev_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id, "sim:skip=3", nullptr), 0);
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  constexpr int kOps = 12;
  byte key[16] = {7};
  byte iv[kIvSz] = {8};
  byte in[kGcmSz] = {9};
  struct Slot {
    Aes aes;
    byte out[kGcmSz];
    byte tag[kTagSz];
    bool live = true;
  };
  auto slots = std::make_unique<Slot[]>(kOps);
  for (int i = 0; i < kOps; ++i) {
    Slot& s = slots[i];
    ASSERT_EQ(wc_AesInit(&s.aes, nullptr, dev_id), 0);
    ASSERT_EQ(wc_AesGcmSetKey(&s.aes, key, sizeof key), 0);
    ASSERT_EQ(wc_AesGcmEncrypt(&s.aes, s.out, in, kGcmSz, iv, kIvSz, s.tag, kTagSz, nullptr, 0),
              WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(&s.aes.asyncDev, &queue, WC_ASYNC_FLAG_NONE), 0);
  }
  int expected = kOps;
  EXPECT_EQ(checked_length(&queue), expected);

  // Cancel at the head, the tail and the middle before anything ran.
  for (int i : {0, kOps - 1, kOps / 2}) {
    wc_AesFree(&slots[i].aes);
    slots[i].live = false;
    --expected;
    EXPECT_EQ(checked_length(&queue), expected);
  }

  // One poll: skip=3 leaves some pending, maxEvents leaves some done.
  WOLF_EVENT* events[3];
  int n = 0;
  ASSERT_EQ(wolfAsync_EventQueuePoll(&queue, nullptr, events, 3, WOLF_POLL_FLAG_CHECK_HW, &n), 0);
  EXPECT_EQ(n, 3);
  expected -= n;
  EXPECT_EQ(checked_length(&queue), expected);
  std::set<WOLF_EVENT*> harvested(events, events + n);

  // Cancel one done-but-unharvested and one still pending.
  int cancelled_done = 0;
  int cancelled_pending = 0;
  for (int i = 0; i < kOps; ++i) {
    Slot& s = slots[i];
    if (!s.live || harvested.count(&s.aes.asyncDev.event) != 0) continue;
    const bool pending = s.aes.asyncDev.sw.type != ASYNC_SW_NONE;
    if ((pending && cancelled_pending == 0) || (!pending && cancelled_done == 0)) {
      (pending ? cancelled_pending : cancelled_done) = 1;
      wc_AesFree(&s.aes);
      s.live = false;
      --expected;
      EXPECT_EQ(checked_length(&queue), expected);
    }
  }
  EXPECT_EQ(cancelled_done, 1);
  EXPECT_EQ(cancelled_pending, 1);

  // Harvest the rest; cancelled events never come back.
  for (int round = 0; round < 20 && expected > 0; ++round) {
    ASSERT_EQ(wolfAsync_EventQueuePoll(&queue, nullptr, events, 3, WOLF_POLL_FLAG_CHECK_HW, &n), 0);
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(harvested.insert(events[i]).second);
      EXPECT_EQ(events[i]->ret, 0);
    }
    expected -= n;
    EXPECT_EQ(checked_length(&queue), expected);
  }
  EXPECT_EQ(expected, 0);
  Aes sync;
  byte want[kGcmSz];
  byte want_tag[kTagSz];
  ASSERT_EQ(wc_AesInit(&sync, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&sync, key, sizeof key), 0);
  ASSERT_EQ(wc_AesGcmEncrypt(&sync, want, in, kGcmSz, iv, kIvSz, want_tag, kTagSz, nullptr, 0), 0);
  wc_AesFree(&sync);
  for (int i = 0; i < kOps; ++i) {
    Slot& s = slots[i];
    const bool got = harvested.count(&s.aes.asyncDev.event) != 0;
    EXPECT_EQ(got, s.live) << i;
    if (s.live) {
      EXPECT_EQ(std::memcmp(s.out, want, kGcmSz), 0);
      EXPECT_EQ(std::memcmp(s.tag, want_tag, kTagSz), 0);
      wc_AesFree(&s.aes);
    }
  }
  EXPECT_EQ(asynccrypt_QueueRelease(&queue), 0);
  wolfEventQueue_Free(&queue);
  asynccrypt_DevStats stats;
  ASSERT_EQ(asynccrypt_DevGetStats(dev_id, &stats), 0);
  EXPECT_EQ(stats.submitted, static_cast<word64>(kOps));
  EXPECT_EQ(stats.cancelled, 4u);  // the done one finished before its free
  EXPECT_EQ(stats.completed + stats.cancelled, static_cast<word64>(kOps));
  EXPECT_EQ(stats.in_flight, 0u);
  wolfAsync_DevClose(&dev_id);
}

// ---------------------------------------------------------------------------
// #6 / #7: freeing an object with a queued operation unlinks it safely;
// events are initialised before their operation is submitted.
// ---------------------------------------------------------------------------

TEST_F(SpecBugsTest, Bug6FreeingAnEccKeyWithAQueuedSignUnlinksIt) {
  auto key = std::make_unique<ecc_key>();
  auto other = std::make_unique<ecc_key>();
  make_ecc_key(key.get(), dev_id_);
  make_ecc_key(other.get(), dev_id_);
  byte hash[32] = {4, 5, 6};
  byte sig[ECC_MAX_SIG_SIZE];
  word32 sig_len = sizeof sig;
  byte sig2[ECC_MAX_SIG_SIZE];
  word32 sig2_len = sizeof sig2;
  ASSERT_EQ(wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng_, key.get()), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(&key->asyncDev, &queue_, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  ASSERT_EQ(wc_ecc_sign_hash(hash, sizeof hash, sig2, &sig2_len, &rng_, other.get()), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(&other->asyncDev, &queue_, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  WOLF_EVENT* freed_event = &key->asyncDev.event;
  ASSERT_EQ(checked_length(&queue_), 2);

  wc_ecc_free(key.get());
  key.reset();  // the memory is gone: a later poll touching it is an ASan error
  EXPECT_EQ(checked_length(&queue_), 1);
  EXPECT_EQ(queue_.head, &other->asyncDev.event);

  WOLF_EVENT* events[2];
  ASSERT_EQ(poll(events, 2), 1);
  EXPECT_EQ(events[0], &other->asyncDev.event);
  EXPECT_NE(events[0], freed_event);
  EXPECT_EQ(poll(events, 2), 0);
  EXPECT_EQ(wc_ecc_sign_hash(hash, sizeof hash, sig2, &sig2_len, &rng_, other.get()), 0);
  asynccrypt_DevStats stats;
  ASSERT_EQ(asynccrypt_DevGetStats(dev_id_, &stats), 0);
  EXPECT_EQ(stats.cancelled, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
  wc_ecc_free(other.get());
}

TEST_F(SpecBugsTest, Bug6FreeingAnRsaKeyWithAQueuedOperationUnlinksIt) {
  auto key = std::make_unique<RsaKey>();
  load_rsa_key(key.get(), dev_id_);
  byte in[kRsaSz] = {0, 1, 2, 3};
  byte out[kRsaSz];
  word32 out_len = kRsaSz;
  ASSERT_EQ(wc_RsaFunction(in, kRsaSz, out, &out_len, RSA_PUBLIC_ENCRYPT, key.get(), &rng_),
            WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(&key->asyncDev, &queue_, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  ASSERT_EQ(checked_length(&queue_), 1);
  wc_FreeRsaKey(key.get());
  key.reset();
  EXPECT_EQ(checked_length(&queue_), 0);
  WOLF_EVENT* events[1];
  EXPECT_EQ(poll(events, 1), 0);
  asynccrypt_DevStats stats;
  ASSERT_EQ(asynccrypt_DevGetStats(dev_id_, &stats), 0);
  EXPECT_EQ(stats.cancelled, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST_F(SpecBugsTest, Bug6FreeingTwiceAfterACancelIsHarmless) {
  ecc_key key;
  make_ecc_key(&key, dev_id_);
  byte hash[32] = {1};
  byte sig[ECC_MAX_SIG_SIZE];
  word32 sig_len = sizeof sig;
  ASSERT_EQ(wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng_, &key), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(&key.asyncDev, &queue_, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  wc_ecc_free(&key);
  EXPECT_EQ(queue_.count, 0);
  wolfAsync_DevCtxFree(&key.asyncDev, WOLFSSL_ASYNC_MARKER_ECC);  // double free
  EXPECT_EQ(queue_.count, 0);
}

TEST_F(SpecBugsTest, Bug7EventIsInitialisedBeforeSubmission) {
  ecc_key key;
  make_ecc_key(&key, dev_id_);
  byte hash[32] = {1};
  byte sig[ECC_MAX_SIG_SIZE];
  word32 sig_len = sizeof sig;
  ASSERT_EQ(wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng_, &key), WC_PENDING_E);
  // Garbage in the event must not matter: wc_AsyncHandle initialises it
  // completely before the operation is handed to the device.
  key.asyncDev.event.ret = 12345;
  key.asyncDev.event.state = WOLF_EVENT_STATE_DONE;
  key.asyncDev.event.flags = 0xFFFF;
  ASSERT_EQ(wc_AsyncHandle(&key.asyncDev, &queue_, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  WOLF_EVENT* event = &key.asyncDev.event;
  EXPECT_EQ(event->state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(event->ret, WC_PENDING_E);
  EXPECT_EQ(event->flags, static_cast<unsigned>(WC_ASYNC_FLAG_CALL_AGAIN));
  EXPECT_TRUE(pthread_equal(event->threadId, pthread_self()));
  EXPECT_EQ(event->dev.async, &key.asyncDev);
  // A poll without CHECK_HW sees it pending, never a stale DONE.
  WOLF_EVENT* events[1];
  int n = -1;
  ASSERT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 1, 0, &n), 0);
  EXPECT_EQ(n, 0);
  ASSERT_EQ(poll(events, 1), 1);
  EXPECT_EQ(event->ret, 0);
  // Completion is handed over on the submitting thread.
  EXPECT_TRUE(pthread_equal(event->threadId, pthread_self()));
  EXPECT_EQ(wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng_, &key), 0);
  wc_ecc_free(&key);
}

}  // namespace
