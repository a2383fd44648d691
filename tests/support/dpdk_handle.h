// Test helpers for the dpdk device: DpdkHandle, an open device that remembers why it could not
// open; DPDK_UNAVAILABLE, the one way a test ends because DPDK is missing or cannot start.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "asynccrypt/device.h"
#include "backends/dpdk/dpdk_device.h"
#include "core/registry.h"

namespace testing_support {

// dpdk_required says whether this run demands the dpdk device
// (ASYNCCRYPT_REQUIRE_DPDK=1: CI sets it where libdpdk is installed, see
// .ci/run). Then "DPDK is missing or cannot start" is a failure, not a skip.
inline bool dpdk_required() {
  const char* v = std::getenv("ASYNCCRYPT_REQUIRE_DPDK");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// DpdkHandle is a device opened from `spec`, closed at scope exit. When the
// open fails, ret() is its code and error() asynccrypt_LastError()'s text.
class DpdkHandle {
 public:
  explicit DpdkHandle(const std::string& spec) {
    auto opened = asynccrypt::DeviceHandle::open(spec);
    if (opened) {
      dev_ = std::move(*opened);
    } else {
      ret_ = opened.error().code();
      error_ = asynccrypt_LastError();
    }
  }

  int ret() const { return ret_; }
  int id() const { return dev_.id(); }
  const std::string& error() const { return error_; }
#ifdef ASYNCCRYPT_HAVE_DPDK
  asynccrypt::DpdkDevice* device() const {
    return dynamic_cast<asynccrypt::DpdkDevice*>(
        asynccrypt::Registry::instance().find(dev_.id()).get());
  }
#endif
  asynccrypt_DevStats stats() const {
    const auto s = dev_.stats();
    EXPECT_TRUE(s) << s.error().describe();
    return s ? *s : asynccrypt_DevStats{};
  }

 private:
  asynccrypt::DeviceHandle dev_;
  int ret_ = 0;
  std::string error_;
};

}  // namespace testing_support

// DPDK_UNAVAILABLE(reason) ends the current test because DPDK is missing or
// cannot start here: skipped, saying `reason` (anything that streams into a
// gtest message), or failed when dpdk_required(). Every such skip of the
// unit tests goes through it (tools/tests/perf_test.sh has the shell twin,
// scripts/lib/dpdk-skip.sh).
#define DPDK_UNAVAILABLE(reason)                                   \
  do {                                                             \
    if (testing_support::dpdk_required()) {                        \
      GTEST_FAIL() << "ASYNCCRYPT_REQUIRE_DPDK=1, but " << reason; \
    }                                                              \
    GTEST_SKIP() << reason;                                        \
  } while (0)

// DPDK_REQUIRE_BUILT() ends the test (DPDK_UNAVAILABLE) in a build without
// the dpdk device.
#define DPDK_REQUIRE_BUILT()                                                              \
  do {                                                                                    \
    if (!asynccrypt::dpdk_built()) DPDK_UNAVAILABLE("asynccrypt was built without DPDK"); \
  } while (0)

// DPDK_OPEN_OR_SKIP declares `handle`, the device `spec` names, or ends the
// test (DPDK_UNAVAILABLE) where DPDK is missing or cannot start here.
#define DPDK_OPEN_OR_SKIP(handle, spec)                               \
  testing_support::DpdkHandle handle(spec);                           \
  DPDK_REQUIRE_BUILT();                                               \
  if ((handle).ret() == ASYNC_INIT_E) {                               \
    DPDK_UNAVAILABLE("DPDK cannot start here: " << (handle).error()); \
  }                                                                   \
  ASSERT_EQ((handle).ret(), 0) << (handle).error()
