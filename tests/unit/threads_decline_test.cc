// The threads device declines operations cheaper than a hand-over
// (inline_us=): wc_AsyncSwInit answers 0 and wolfCrypt computes at once.
// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/rsa.h>

#include <gtest/gtest.h>

#include "support/gcm_op.h"

namespace {

using testing_support::GcmOp;

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
  // A pool of its own (workers=3 is used by no other test here), so no
  // earlier test has measured AES-GCM on it yet.
  Device dev("threads:workers=3,inline_us=1000000");
  ASSERT_EQ(dev.open_ret, 0);
  GcmOp op(dev.id, 7);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_TRUE(encrypt_once(op)) << "an unmeasured kind goes to a worker";
  int pended = 0;
  constexpr int kRuns = 2000;
  for (int i = 0; i < kRuns; ++i) pended += encrypt_once(op) ? 1 : 0;
  // Measured below 1 s: declined, except about one in 64 (resampling).
  EXPECT_GT(pended, 0) << "some still go to a worker to keep the estimate current";
  EXPECT_LT(pended, kRuns / 16);
  const asynccrypt_DevStats s = dev.stats();
  EXPECT_EQ(s.declined, static_cast<word64>(kRuns - pended));
  EXPECT_EQ(s.submitted, static_cast<word64>(1 + pended));
}

TEST(ThreadsDecline, InlineZeroSendsEverythingToTheWorkers) {
  Device dev("threads:workers=3,inline_us=0");
  ASSERT_EQ(dev.open_ret, 0);
  GcmOp op(dev.id, 9);
  ASSERT_EQ(op.init_ret, 0);
  for (int i = 0; i < 300; ++i) EXPECT_TRUE(encrypt_once(op)) << i;
  EXPECT_EQ(dev.stats().declined, 0u);
}

TEST(ThreadsDecline, ExpensiveOperationsKeepGoingToTheWorkers) {
  // One microsecond: nothing wolfCrypt does to 256 bytes with AES-GCM in
  // software (or with AES-NI, counting the call) is measured below that.
  Device dev("threads:workers=3,inline_us=1");
  ASSERT_EQ(dev.open_ret, 0);
  GcmOp op(dev.id, 11);
  ASSERT_EQ(op.init_ret, 0);
  int pended = 0;
  for (int i = 0; i < 300; ++i) pended += encrypt_once(op) ? 1 : 0;
  EXPECT_GT(pended, 290);
}

TEST(ThreadsDecline, OtherDeviceKindsNeverDecline) {
  Device dev("sim");
  ASSERT_EQ(dev.open_ret, 0);
  GcmOp op(dev.id, 13);
  ASSERT_EQ(op.init_ret, 0);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(encrypt_once(op)) << i;
  EXPECT_EQ(dev.stats().declined, 0u);
}

TEST(ThreadsDecline, ObjectsWithoutADeviceAreUntouched) {
  GcmOp op(INVALID_DEVID, 15);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_FALSE(encrypt_once(op));
}

}  // namespace
