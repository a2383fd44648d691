// Running out of memory during an operation, on every device of the list:
// from the Nth allocation on every allocation fails, for each N across a
// whole operation (record, submit, poll, complete, collect; or record,
// submit and free with it in flight). The process must never abort; each
// failure must come back as an error code, and once memory returns the same
// key must work again.
//
// Allocations fail through two hooks: wolfSSL_SetAllocators for wolfSSL's
// XMALLOC (wolfCrypt's memory and our Op records), and this program's own
// replacement of the global operator new for every C++ allocation (the
// library's containers included; the library has no allocation hook of its
// own, and a hook could miss a container that allocates behind it). A failed
// operator new throws std::bad_alloc, as the standard one does: the library,
// built with -fno-exceptions, must never let one reach it on an operation's
// path. Only C calls run while memory is "out"; the test records what it
// sees in plain variables and checks it once memory is back.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/memory.h>
#include <wolfssl/wolfcrypt/random.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "support/deadline.h"
#include "support/device_list.h"
#include "support/gcm_op.h"

namespace {

// The failing allocator: off until armed; armed with n, it lets n more
// allocations through and fails every one after that, on every thread, until
// disarmed ("memory returns").
std::atomic<bool> g_armed{false};
std::atomic<long> g_allowed{0};
std::atomic<long> g_failed{0};

bool allocation_fails() {
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  if (g_allowed.fetch_sub(1, std::memory_order_relaxed) > 0) return false;
  g_failed.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void arm(long n) {
  g_failed.store(0);
  g_allowed.store(n);
  g_armed.store(true);
}

// Memory is back; returns how many allocations failed meanwhile.
long disarm() {
  g_armed.store(false);
  return g_failed.load();
}

void* failing_malloc(size_t size) { return allocation_fails() ? nullptr : std::malloc(size); }
void failing_free(void* p) { std::free(p); }
void* failing_realloc(void* p, size_t size) {
  return allocation_fails() ? nullptr : std::realloc(p, size);
}

}  // namespace

void* operator new(std::size_t size) {
  void* p = allocation_fails() ? nullptr : std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return allocation_fails() ? nullptr : std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using testing_support::DeviceCase;

// More than any single operation here allocates: a sweep stops at the first
// N that saw no failure, and fails if it never gets there.
constexpr long kMaxSweep = 400;

class OutOfMemoryTest : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(wolfSSL_GetAllocators(&saved_malloc_, &saved_free_, &saved_realloc_), 0);
    ASSERT_EQ(wolfSSL_SetAllocators(failing_malloc, failing_free, failing_realloc), 0);
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    ready_ = true;
  }
  void TearDown() override {
    g_armed.store(false);
    if (!ready_) return;
    wolfEventQueue_Free(&queue_);
    wolfSSL_SetAllocators(saved_malloc_, saved_free_, saved_realloc_);
  }

  // Polls queue_ until dev's event is harvested; memory may come back on the
  // way (disarm after a while, as a system under pressure frees memory).
  // Returns the event's result, or WC_PENDING_E when it never came.
  int harvest(WC_ASYNC_DEV* dev) {
    const testing_support::Deadline deadline;
    for (long polls = 0; !deadline.passed(); ++polls) {
      if (polls == 1000) disarm();  // nothing may need memory to finish, but a device may wait
      WOLF_EVENT* events[4];
      int count = 0;
      const int ret =
          wolfAsync_EventQueuePoll(&queue_, nullptr, events, 4, WOLF_POLL_FLAG_CHECK_HW, &count);
      if (ret != 0) return ret;
      for (int i = 0; i < count; ++i) {
        if (events[i] == &dev->event) return events[i]->ret;
      }
    }
    return WC_PENDING_E;
  }

  WOLF_EVENT_QUEUE queue_{};
  bool ready_ = false;
  wolfSSL_Malloc_cb saved_malloc_ = nullptr;
  wolfSSL_Free_cb saved_free_ = nullptr;
  wolfSSL_Realloc_cb saved_realloc_ = nullptr;
};

// Signs through wc_AsyncWait (the single-event path), with memory back.
int sign_and_wait(ecc_key* key, WC_RNG* rng, const byte* hash, byte* sig, word32* sig_len) {
  int ret = 0;
  do {
    ret = wc_AsyncWait(ret, &key->asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) ret = wc_ecc_sign_hash(hash, 32, sig, sig_len, rng, key);
  } while (ret == WC_PENDING_E);
  return ret;
}

bool verifies(ecc_key* public_key, const byte* hash, const byte* sig, word32 sig_len) {
  int ok = 0;
  return wc_ecc_verify_hash(sig, sig_len, hash, 32, &ok, public_key) == 0 && ok == 1;
}

// A P-256 key pair: its exported halves, and the key itself without a
// device, for checking signatures.
struct EccPair {
  EccPair() {
    EXPECT_EQ(wc_InitRng(&rng), 0);
    EXPECT_EQ(wc_ecc_init_ex(&plain, nullptr, INVALID_DEVID), 0);
    EXPECT_EQ(wc_ecc_make_key_ex(&rng, 32, &plain, ECC_SECP256R1), 0);
    EXPECT_EQ(wc_ecc_export_private_only(&plain, priv, &priv_len), 0);
    EXPECT_EQ(wc_ecc_export_x963(&plain, pub, &pub_len), 0);
  }
  ~EccPair() {
    wc_ecc_free(&plain);
    wc_FreeRng(&rng);
  }
  // Loads the private key into key, bound to dev_id.
  void load(ecc_key* key, int dev_id) const {
    EXPECT_EQ(wc_ecc_init_ex(key, nullptr, dev_id), 0);
    EXPECT_EQ(wc_ecc_import_private_key_ex(priv, priv_len, pub, pub_len, key, ECC_SECP256R1), 0);
  }
  WC_RNG rng;
  ecc_key plain;
  byte priv[32];
  byte pub[65];
  word32 priv_len = sizeof priv;
  word32 pub_len = sizeof pub;
};

// A final result: success, or an error code (never "still pending").
bool is_final(int ret) { return ret == 0 || (ret < 0 && ret != WC_PENDING_E); }

TEST_P(OutOfMemoryTest, EcdsaSignFailsWithACodeAtEveryAllocation) {
  EccPair pair;
  const byte hash[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  long n = 0;
  for (; n < kMaxSweep; ++n) {
    WC_RNG rng;
    ASSERT_EQ(wc_InitRng(&rng), 0);
    ecc_key key;
    pair.load(&key, dev_id());
    byte sig[80];
    word32 sig_len = sizeof sig;

    arm(n);  // only C calls until disarm()
    int ret = wc_ecc_sign_hash(hash, 32, sig, &sig_len, &rng, &key);
    if (ret == WC_PENDING_E) {
      ret = wc_AsyncHandle(&key.asyncDev, &queue_, WC_ASYNC_FLAG_NONE);
      if (ret == 0) ret = harvest(&key.asyncDev);
      if (ret == 0) ret = wc_ecc_sign_hash(hash, 32, sig, &sig_len, &rng, &key);  // collects
    }
    const long failed = disarm();

    EXPECT_TRUE(is_final(ret)) << "N=" << n << ": " << ret;
    if (ret == 0) {
      EXPECT_TRUE(verifies(&pair.plain, hash, sig, sig_len)) << "N=" << n;
    }
    // Memory is back: the same key signs again, correctly.
    sig_len = sizeof sig;
    const int again = sign_and_wait(&key, &rng, hash, sig, &sig_len);
    EXPECT_EQ(again, 0) << "N=" << n << ", after " << ret;
    if (again == 0) {
      EXPECT_TRUE(verifies(&pair.plain, hash, sig, sig_len)) << "N=" << n;
    }
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
    if (failed == 0) break;  // the whole operation took fewer than N allocations
  }
  EXPECT_LT(n, kMaxSweep) << "the sweep never reached an operation without failures";
  std::printf("[ sweep    ] %ld allocation points\n", n);
}

TEST_P(OutOfMemoryTest, AesGcmFailsWithACodeAtEveryAllocation) {
  long n = 0;
  for (; n < kMaxSweep; ++n) {
    testing_support::GcmOp op(dev_id(), static_cast<byte>(n));
    ASSERT_EQ(op.init_ret, 0);

    arm(n);
    int ret = op.start();
    if (ret == WC_PENDING_E) {
      ret = wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE);
      if (ret == 0) ret = harvest(op.dev());
    }
    const long failed = disarm();

    EXPECT_TRUE(is_final(ret)) << "N=" << n << ": " << ret;
    if (ret == 0) {
      EXPECT_TRUE(op.correct()) << "N=" << n;
    }
    ret = wc_AsyncWait(op.start(), op.dev(), WC_ASYNC_FLAG_NONE);
    EXPECT_EQ(ret, 0) << "N=" << n;
    EXPECT_TRUE(op.correct()) << "N=" << n;
    if (failed == 0) break;
  }
  EXPECT_LT(n, kMaxSweep) << "the sweep never reached an operation without failures";
  std::printf("[ sweep    ] %ld allocation points\n", n);
}

// The free path: an object freed with its operation in flight, memory
// still out. Nothing may abort; ASan's leak check runs over the whole
// program, so nothing may be left allocated either.
TEST_P(OutOfMemoryTest, FreeingWithAnOperationInFlightNeedsNoMemory) {
  long n = 0;
  for (; n < kMaxSweep; ++n) {
    long failed = 0;
    {
      testing_support::GcmOp op(dev_id(), static_cast<byte>(n));
      ASSERT_EQ(op.init_ret, 0);
      arm(n);
      if (op.start() == WC_PENDING_E) (void)wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE);
      wc_AesFree(&op.aes);  // cancels or drains, with memory out
      failed = disarm();
      ASSERT_EQ(wc_AesInit(&op.aes, nullptr, dev_id()), 0);  // for ~GcmOp
    }
    // Nothing of it is left in the queue.
    WOLF_EVENT* events[4];
    int count = -1;
    EXPECT_EQ(
        wolfAsync_EventQueuePoll(&queue_, nullptr, events, 4, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
    EXPECT_EQ(count, 0) << "N=" << n;
    if (failed == 0) break;
  }
  EXPECT_LT(n, kMaxSweep);
}

INSTANTIATE_TEST_SUITE_P(Devices, OutOfMemoryTest,
                         ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

}  // namespace
