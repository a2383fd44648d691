// A test helper: a SoftHSM2 token with the pkcs11 device opened on it, and wolfCrypt calls that
// pend.
#pragma once

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "backends/pkcs11/pkcs11_device.h"
#include "core/registry.h"
#include "support/softhsm_token.h"

namespace testing_support {

// Skips the current test, with the reason, where the pkcs11 device cannot
// work: a wolfSSL built without crypto callbacks (every configuration but
// hsm and all), or no SoftHSM2 (then ASYNCCRYPT_REQUIRE_SOFTHSM=1 fails).
#ifdef WOLF_CRYPTO_CB
#define ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP() ASYNCCRYPT_SOFTHSM_OR_SKIP()
#else
#define ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP()                                            \
  GTEST_SKIP() << "the pkcs11 device needs a wolfSSL with crypto callbacks (the hsm " \
                  "configuration: make wolfssl-hsm); this one has none"
#endif

// The spec of a pkcs11 device on SoftHsmToken's token reached through the
// PKCS#11 library `module` (SoftHSM2 itself, or p11-kit's client), plus
// `extra`.
inline std::string pkcs11_spec(const std::string& module, const std::string& extra = "") {
  std::string spec = "pkcs11:module=" + module + ",token=" + SoftHsmToken::kLabel +
                     ",pin-env=" + SoftHsmToken::kPinEnv;
  if (!extra.empty()) spec += "," + extra;
  return spec;
}

// Pkcs11DeviceTest gives each test a fresh token (hsm_) and a pkcs11 device
// on it (dev_id_, device()), opened with the options extra_options() gives.
class Pkcs11DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP();
    std::string error;
    hsm_ = SoftHsmToken::create(ASYNCCRYPT_WOLFSSL_CERTS_DIR, &error);
    ASSERT_NE(hsm_, nullptr) << error;
    open(extra_options());
  }

  void TearDown() override {
    wolfAsync_DevClose(&dev_id_);
    device_.reset();
  }

  virtual std::string extra_options() const { return "workers=2"; }

  // Closes the device and opens it again with other options.
  void open(const std::string& extra) { open_spec(pkcs11_spec(hsm_->module(), extra)); }

  // Closes the device and opens it again from `spec`.
  void open_spec(const std::string& spec) {
    wolfAsync_DevClose(&dev_id_);
    device_.reset();
    ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id_, spec.c_str(), nullptr), 0) << asynccrypt_LastError();
    device_ = std::dynamic_pointer_cast<asynccrypt::Pkcs11Device>(
        asynccrypt::Registry::instance().find(dev_id_));
    ASSERT_NE(device_, nullptr);
  }

  asynccrypt::Pkcs11Device& device() { return *device_; }

  asynccrypt_DevStats stats() const {
    asynccrypt_DevStats s{};
    EXPECT_EQ(asynccrypt_DevGetStats(dev_id_, &s), 0);
    return s;
  }

  std::unique_ptr<SoftHsmToken> hsm_;
  int dev_id_ = INVALID_DEVID;
  std::shared_ptr<asynccrypt::Pkcs11Device> device_;
};

}  // namespace testing_support
