// Tests of include/asynccrypt/event.h: call_and_wait on every device kind, its errors, and
// wait_readable.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

#include "asynccrypt/device.h"
#include "asynccrypt/event.h"
#include "asynccrypt/fd.h"
#include "support/gcm_op.h"

namespace {

using asynccrypt::call_and_wait;
using asynccrypt::DeviceHandle;

class CxxCallAndWait : public ::testing::TestWithParam<const char*> {};

TEST_P(CxxCallAndWait, SignsAndVerifiesThroughTheDevice) {
  auto dev = DeviceHandle::open(GetParam());
  ASSERT_TRUE(dev) << dev.error().describe();
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  RsaKey key;
  ASSERT_EQ(wc_InitRsaKey_ex(&key, nullptr, dev->id()), 0);
  word32 idx = 0;
  ASSERT_EQ(wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, &key, sizeof_client_key_der_2048), 0);
  ASSERT_EQ(wc_RsaSetRNG(&key, &rng), 0);
  const byte msg[] = "call_and_wait";
  std::array<byte, 256> sig{};
  std::array<byte, 256> back{};
  int pended = -1;
  auto signed_len = call_and_wait(
      &key.asyncDev,
      [&] { return wc_RsaSSL_Sign(msg, sizeof msg, sig.data(), sig.size(), &key, &rng); },
      "wc_RsaSSL_Sign", &pended);
  ASSERT_TRUE(signed_len) << signed_len.error().describe();
  EXPECT_EQ(*signed_len, 256);
  EXPECT_GE(pended, 1) << "a device operation pends at least once";
  auto verified = call_and_wait(
      &key.asyncDev,
      [&] {
        return wc_RsaSSL_Verify(sig.data(), static_cast<word32>(*signed_len), back.data(),
                                back.size(), &key);
      },
      "wc_RsaSSL_Verify");
  ASSERT_TRUE(verified) << verified.error().describe();
  ASSERT_EQ(*verified, static_cast<int>(sizeof msg));
  EXPECT_EQ(std::memcmp(back.data(), msg, sizeof msg), 0);
  wc_FreeRsaKey(&key);
  wc_FreeRng(&rng);
  const auto stats = dev->stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->in_flight, 0u);
}

INSTANTIATE_TEST_SUITE_P(Devices, CxxCallAndWait,
                         ::testing::Values("sim:skip=0", "sim:skip=3", "threads:workers=2",
                                           "chaos:seed=4,maxpolls=5"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(CxxCallAndWaitErrors, SynchronousCallRunsOnceWithoutPending) {
  int calls = 0;
  int pended = -1;
  WC_ASYNC_DEV dev{};
  auto r = call_and_wait(
      &dev, [&] { return ++calls; }, "count", &pended);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(pended, 0);
}

TEST(CxxCallAndWaitErrors, AFailedCallIsAnErrorWithItsCode) {
  WC_ASYNC_DEV dev{};
  auto r = call_and_wait(
      &dev, [] { return BAD_FUNC_ARG; }, "wc_Something");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), BAD_FUNC_ARG);
  EXPECT_EQ(r.error().message().rfind("wc_Something: ", 0), 0u) << r.error().message();
}

// An operation that the device fails (chaos fail=100) comes back as an Error.
TEST(CxxCallAndWaitErrors, ADeviceFailureIsAnError) {
  auto dev = DeviceHandle::open("chaos:seed=3,fail=100");
  ASSERT_TRUE(dev) << dev.error().describe();
  testing_support::GcmOp op(dev->id(), 5);
  ASSERT_EQ(op.init_ret, 0);
  auto r = call_and_wait(
      op.dev(), [&] { return op.start(); }, "wc_AesGcmEncrypt");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), WC_HW_E);
}

TEST(CxxWaitReadable, TimesOutThenSeesReadiness) {
  asynccrypt::Fd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(fd.valid());
  auto idle = asynccrypt::wait_readable(fd.get(), 0);
  ASSERT_TRUE(idle) << idle.error().describe();
  EXPECT_FALSE(*idle);
  const std::uint64_t one = 1;
  ASSERT_EQ(write(fd.get(), &one, sizeof one), 8);
  auto ready = asynccrypt::wait_readable(fd.get(), 1000);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(*ready);
}

TEST(CxxWaitReadable, ABadFdIsAnError) {
  auto r = asynccrypt::wait_readable(-1 /* ignored by poll */, 0);
  ASSERT_TRUE(r) << "poll ignores negative fds: a timeout";
  EXPECT_FALSE(*r);
  auto closed = asynccrypt::wait_readable(1000000, 0);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code(), WC_HW_E);
}

}  // namespace
