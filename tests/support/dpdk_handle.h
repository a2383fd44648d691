// A test helper: an open dpdk device (asynccrypt::DeviceHandle) that remembers why it could not
// open, and DPDK_OPEN_OR_SKIP, which skips a test where DPDK is missing or cannot start.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "asynccrypt/device.h"
#include "backends/dpdk/dpdk_device.h"
#include "core/registry.h"

namespace testing_support {

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

// DPDK_OPEN_OR_SKIP declares `handle`, the device `spec` names, or skips
// the test, saying why, where DPDK is missing or cannot start here.
#define DPDK_OPEN_OR_SKIP(handle, spec)                                               \
  testing_support::DpdkHandle handle(spec);                                           \
  if (!asynccrypt::dpdk_built()) GTEST_SKIP() << "asynccrypt was built without DPDK"; \
  if ((handle).ret() == ASYNC_INIT_E) {                                               \
    GTEST_SKIP() << "DPDK cannot start here: " << (handle).error();                   \
  }                                                                                   \
  ASSERT_EQ((handle).ret(), 0) << (handle).error()
