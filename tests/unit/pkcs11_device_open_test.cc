// Tests of opening the pkcs11 device kind (src/backends/pkcs11/pkcs11_kind.cc): wrong PIN,
// missing token, bad specs, and the refusal on a wolfSSL without crypto callbacks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "support/pkcs11_device_fixture.h"

namespace {

#ifdef WOLF_CRYPTO_CB

using testing_support::SoftHsmToken;

// Failures to open: wrong PIN, missing token, bad specs. No device fixture.
class Pkcs11DeviceOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP();
    std::string error;
    hsm_ = SoftHsmToken::create(ASYNCCRYPT_WOLFSSL_CERTS_DIR, &error);
    ASSERT_NE(hsm_, nullptr) << error;
  }
  void TearDown() override { unsetenv("ASYNCCRYPT_TEST_WRONG_PIN"); }

  int open(const std::string& spec) {
    int id = INVALID_DEVID;
    const int ret = asynccrypt_DevOpenSpec(&id, spec.c_str(), nullptr);
    wolfAsync_DevClose(&id);
    return ret;
  }
  std::unique_ptr<SoftHsmToken> hsm_;
};

TEST_F(Pkcs11DeviceOpenTest, WrongPinFailsWithTheTokensCodeAndNeverShowsThePin) {
  setenv("ASYNCCRYPT_TEST_WRONG_PIN", "999111", 1);
  const std::string spec = "pkcs11:module=" + hsm_->module() + ",token=" + SoftHsmToken::kLabel +
                           ",pin-env=ASYNCCRYPT_TEST_WRONG_PIN";
  EXPECT_EQ(open(spec), WC_HW_E);
  const std::string message = asynccrypt_LastError();
  EXPECT_NE(message.find("CKR_PIN_INCORRECT"), std::string::npos) << message;
  EXPECT_EQ(message.find("999111"), std::string::npos) << message;
}

TEST_F(Pkcs11DeviceOpenTest, MissingTokenFails) {
  const std::string spec =
      "pkcs11:module=" + hsm_->module() + ",token=no-such-token,pin-env=" + SoftHsmToken::kPinEnv;
  EXPECT_NE(open(spec), 0);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("no-such-token"), std::string::npos)
      << asynccrypt_LastError();
}

TEST_F(Pkcs11DeviceOpenTest, BadSpecsFailWithBadFuncArg) {
  const std::string module = "module=" + hsm_->module();
  const std::string token = std::string(",token=") + SoftHsmToken::kLabel;
  const std::string pin = std::string(",pin-env=") + SoftHsmToken::kPinEnv;
  EXPECT_EQ(open("pkcs11:" + token.substr(1) + pin), BAD_FUNC_ARG);  // no module
  EXPECT_EQ(open("pkcs11:" + module + pin), BAD_FUNC_ARG);           // no token
  EXPECT_EQ(open("pkcs11:" + module + token), BAD_FUNC_ARG);         // no PIN source
  EXPECT_EQ(open("pkcs11:" + module + token + pin + ",pin-file=/x"), BAD_FUNC_ARG);
  EXPECT_EQ(open("pkcs11:" + module + token + pin + ",workers=0"), BAD_FUNC_ARG);
  EXPECT_EQ(open("pkcs11:" + module + token + pin + ",colour=blue"), BAD_FUNC_ARG);
  EXPECT_EQ(open("pkcs11:module=/nonexistent/lib.so" + token + pin), BAD_FUNC_ARG);
}

#else   // !WOLF_CRYPTO_CB
// On a wolfSSL without crypto callbacks the device refuses to open and says
// which option is missing (this test runs on the default configuration).
TEST(Pkcs11DeviceBuildGate, OpeningNamesTheMissingOption) {
  int id = INVALID_DEVID;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "pkcs11:module=/x.so,token=t,pin-env=V", nullptr),
            BAD_FUNC_ARG);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("--enable-cryptocb"), std::string::npos)
      << asynccrypt_LastError();
}
#endif  // WOLF_CRYPTO_CB

}  // namespace
