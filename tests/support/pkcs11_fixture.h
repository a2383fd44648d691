// A test helper: a GoogleTest fixture with a SoftHSM2 token and the PKCS#11 layer opened on it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "backends/pkcs11/p11_session.h"
#include "backends/pkcs11/p11_token.h"
#include "support/softhsm_token.h"

namespace testing_support {

// The test keys of SoftHsmToken, as the layer names them.
inline asynccrypt::p11::KeyRef rsa_key_id() { return asynccrypt::p11::KeyRef::id("\x01"); }
inline asynccrypt::p11::KeyRef p256_key_id() { return asynccrypt::p11::KeyRef::id("\x02"); }
inline asynccrypt::p11::KeyRef p384_key_id() { return asynccrypt::p11::KeyRef::id("\x03"); }
inline asynccrypt::p11::KeyRef rsa_key_label() {
  return asynccrypt::p11::KeyRef::label("rsa-2048");
}

// TokenTest gives each test a fresh SoftHSM2 token (hsm_) and the layer's
// Token on it (token_), logged in with the PIN from the environment. Tests
// skip when SoftHSM2 is missing (ASYNCCRYPT_SOFTHSM_OR_SKIP).
class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASYNCCRYPT_SOFTHSM_OR_SKIP();
    std::string error;
    hsm_ = SoftHsmToken::create(ASYNCCRYPT_WOLFSSL_CERTS_DIR, &error);
    ASSERT_NE(hsm_, nullptr) << error;
    auto token = asynccrypt::p11::Token::open(config());
    ASSERT_TRUE(token.is_ok()) << token.status().message();
    token_ = token.take();
  }

  // Sessions and the Token go before the SoftHSM2 directory does.
  void TearDown() override { token_.reset(); }

  asynccrypt::p11::TokenConfig config(const char* pin_env = SoftHsmToken::kPinEnv) const {
    return {hsm_->module(), SoftHsmToken::kLabel, asynccrypt::p11::PinSource::from_env(pin_env)};
  }

  std::unique_ptr<SoftHsmToken> hsm_;
  std::shared_ptr<asynccrypt::p11::Token> token_;
};

}  // namespace testing_support
