// Several threads on one event queue (issue 14.1): a queue is shared by every connection of a
// WOLFSSL_CTX, and wolfSSL lets threads share a context. Each thread signs with keys of its own,
// polls the shared queue with no filter (harvesting the other thread's operations too) and now
// and then frees its key with the signature in flight. Before the fix a poll could harvest and
// free an operation that its owner was cancelling at the same moment: a double unlink from
// wolfSSL's list (SEGV in wolfEventQueue_Remove under cancel), a double free.
#include "core/wolfssl_api.h"

#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/device_list.h"

namespace {

using testing_support::DeviceCase;

constexpr int kSignsPerThread = 300;

// One thread's part: kSignsPerThread keys, each signing once through the
// shared queue; a third are freed with the signature in flight (maybe while
// the other thread harvests it), the others waited for first.
void sign_and_free(int dev_id, WOLF_EVENT_QUEUE* queue, unsigned seed, std::atomic<int>* failures) {
  WC_RNG rng;
  if (wc_InitRng(&rng) != 0) {
    ++*failures;
    return;
  }
  std::mt19937 gen(seed);
  byte hash[32];
  for (int i = 0; i < kSignsPerThread; ++i) {
    ecc_key key;
    word32 idx = 0;
    if (wc_ecc_init_ex(&key, nullptr, dev_id) != 0 ||
        wc_EccPrivateKeyDecode(ecc_key_der_256, &idx, &key, sizeof_ecc_key_der_256) != 0) {
      ++*failures;
      break;
    }
    for (byte& b : hash) b = static_cast<byte>(gen());
    byte sig[ECC_MAX_SIG_SIZE];
    word32 sig_len = sizeof sig;
    int ret = wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng, &key);
    if (ret == WC_PENDING_E) {
      if (wc_AsyncHandle(&key.asyncDev, queue, WC_ASYNC_FLAG_CALL_AGAIN) != 0) ++*failures;
      // A poll of the whole queue, as wolfSSL_CTX_AsyncPoll does: it
      // harvests (and frees) finished operations of both threads.
      for (int p = 0; p < static_cast<int>(gen() % 4); ++p) {
        WOLF_EVENT* events[8];
        int count = 0;
        if (wolfAsync_EventQueuePoll(queue, nullptr, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count) !=
            0) {
          ++*failures;
        }
      }
      if (gen() % 3 != 0) {
        // Waits for it (the other thread may be harvesting it); the event
        // is read only through the library: a harvest on the other thread
        // writes it (see docs/design.md).
        if (wolfAsync_EventWait(&key.asyncDev.event) != 0) ++*failures;
      }
    } else if (ret != 0) {
      ++*failures;
    }
    wc_ecc_free(&key);  // with the signature in flight for about a third
  }
  wc_FreeRng(&rng);
}

class SharedQueue : public testing_support::DeviceTest {};

TEST_P(SharedQueue, TwoThreadsPollAndFreeOnOneQueue) {
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  std::atomic<int> failures{0};
  std::thread other(sign_and_free, dev_id(), &queue, 1u, &failures);
  sign_and_free(dev_id(), &queue, 2u, &failures);
  other.join();
  EXPECT_EQ(failures.load(), 0);
  // Every key was freed or collected: nothing may be left.
  WOLF_EVENT* events[8];
  int count = -1;
  EXPECT_EQ(wolfAsync_EventQueuePoll(&queue, nullptr, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count),
            0);
  EXPECT_EQ(count, 0);
  wolfEventQueue_Free(&queue);
}

// Poll-driven and worker devices, each with ECC pending.
INSTANTIATE_TEST_SUITE_P(Devices, SharedQueue,
                         ::testing::ValuesIn(testing_support::devices_named(
                             {"sim", "sim_skip3", "threads", "chaos", "chaos_over_threads"})),
                         testing_support::device_name);

}  // namespace
