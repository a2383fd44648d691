// Tests of the PKCS#11 token (src/backends/pkcs11/p11_token.cc) on SoftHSM2: finding it by
// label, the one login (wrong PIN, PIN sources), and recovery when the token goes away.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "backends/pkcs11/p11_token.h"
#include "support/pkcs11_fixture.h"

namespace {

using asynccrypt::Status;
using asynccrypt::p11::PinSource;
using asynccrypt::p11::Session;
using asynccrypt::p11::Token;
using asynccrypt::p11::TokenConfig;
using testing_support::SoftHsmToken;

class Pkcs11TokenTest : public testing_support::TokenTest {
 protected:
  // One ECDSA signature through `session`.
  Status sign(Session& session) {
    unsigned char hash[32] = {9};
    unsigned char sig[80];
    std::size_t len = sizeof sig;
    return session.sign_ecdsa(testing_support::p256_key_id(), hash, sizeof hash, sig, &len);
  }
};

TEST_F(Pkcs11TokenTest, WrongPinIsRefusedWithoutShowingIt) {
  // While the fixture's Token holds the login, any PIN would get
  // CKR_USER_ALREADY_LOGGED_IN (the login belongs to the process).
  token_.reset();
  setenv("ASYNCCRYPT_TEST_WRONG_PIN", "80417755", 1);
  auto token = Token::open(config("ASYNCCRYPT_TEST_WRONG_PIN"));
  unsetenv("ASYNCCRYPT_TEST_WRONG_PIN");
  ASSERT_FALSE(token.is_ok());
  EXPECT_EQ(token.status().code(), WC_HW_E);
  const std::string& message = token.status().message();
  EXPECT_NE(message.find("CKR_PIN_INCORRECT"), std::string::npos) << message;
  EXPECT_NE(message.find("environment variable ASYNCCRYPT_TEST_WRONG_PIN"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("80417755"), std::string::npos) << message;
  EXPECT_EQ(message.find(SoftHsmToken::kPin), std::string::npos) << message;
}

TEST_F(Pkcs11TokenTest, PinFromAFile) {
  const std::string path = hsm_->dir() + "/pin.txt";
  std::ofstream(path) << SoftHsmToken::kPin << "\n";
  token_.reset();  // a second login of the same process would be "already logged in"
  auto token = Token::open({hsm_->module(), SoftHsmToken::kLabel, PinSource::from_file(path)});
  ASSERT_TRUE(token.is_ok()) << token.status().message();
  Session session(token.value());
  EXPECT_TRUE(sign(session).is_ok());
}

TEST_F(Pkcs11TokenTest, BadConfigurationsSayWhat) {
  struct Case {
    TokenConfig config;
    int code;
    const char* says;
  };
  const std::string module = hsm_->module();
  const PinSource pin = PinSource::from_env(SoftHsmToken::kPinEnv);
  const Case cases[] = {
      {{module, "no-such-token", pin}, WC_HW_E, "no token labelled 'no-such-token'"},
      {{module, "", pin}, BAD_FUNC_ARG, "no token label"},
      {{module, std::string(33, 'x'), pin}, BAD_FUNC_ARG, "longer than 32 bytes"},
      {{module, SoftHsmToken::kLabel, PinSource()}, BAD_FUNC_ARG, "no PIN source"},
      {{"/nonexistent/libnothing.so", SoftHsmToken::kLabel, pin},
       BAD_FUNC_ARG,
       "cannot load PKCS#11 module /nonexistent/libnothing.so"},
      {{module, SoftHsmToken::kLabel, PinSource::from_env("ASYNCCRYPT_TEST_UNSET_PIN")},
       BAD_FUNC_ARG,
       "PIN environment variable ASYNCCRYPT_TEST_UNSET_PIN is not set"},
      {{module, SoftHsmToken::kLabel, PinSource::from_file("/nonexistent/pin")},
       BAD_FUNC_ARG,
       "cannot open PIN file /nonexistent/pin"},
  };
  for (const Case& c : cases) {
    auto token = Token::open(c.config);
    ASSERT_FALSE(token.is_ok()) << c.says;
    EXPECT_EQ(token.status().code(), c.code) << token.status().message();
    EXPECT_NE(token.status().message().find(c.says), std::string::npos) << token.status().message();
  }
}

TEST_F(Pkcs11TokenTest, TokenGoneFailsUntilTheDeviceIsReopened) {
  auto session = std::make_unique<Session>(token_);
  ASSERT_TRUE(sign(*session).is_ok());
  ASSERT_TRUE(hsm_->remove_token_files());
  // The token is gone: every operation fails with WC_HW_E and says so;
  // none hangs, none claims that the key is missing.
  Status s = sign(*session);
  EXPECT_EQ(s.code(), WC_HW_E) << s.message();
  EXPECT_NE(s.message().find("the token or its login is gone"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("reopened and tried again: no token labelled 'asynccrypt-test'"),
            std::string::npos)
      << s.message();
  for (int i = 0; i < 3; ++i) {
    s = sign(*session);
    EXPECT_EQ(s.code(), WC_HW_E) << s.message();
    EXPECT_NE(s.message().find("no token labelled 'asynccrypt-test'"), std::string::npos)
        << s.message();
  }
  // A new token with the same label and keys (SoftHSM2 gives it a new slot
  // id). SoftHSM2 looks for tokens only in C_Initialize, so the running
  // module does not see it...
  std::string error;
  ASSERT_TRUE(hsm_->reinit(&error)) << error;
  EXPECT_EQ(sign(*session).code(), WC_HW_E);
  // ... until the last holder has let the module go and it is opened again.
  session.reset();
  token_.reset();
  auto token = Token::open(config());
  ASSERT_TRUE(token.is_ok()) << token.status().message();
  Session fresh(token.value());
  EXPECT_TRUE(sign(fresh).is_ok());
}

TEST_F(Pkcs11TokenTest, OutOfProcessTokenAndItsServerGoingAway) {
  // The token behind `p11-kit server`, reached through p11-kit's client
  // module over a socket: a stand-in for a network HSM.
  token_.reset();
  std::string error;
  if (!hsm_->start_server(&error)) {
    if (SoftHsmToken::required()) FAIL() << error;
    GTEST_SKIP() << error;
  }
  auto token = Token::open({SoftHsmToken::p11kit_client_path(), SoftHsmToken::kLabel,
                            PinSource::from_env(SoftHsmToken::kPinEnv)});
  ASSERT_TRUE(token.is_ok()) << token.status().message();
  auto session = std::make_unique<Session>(token.value());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign(*session).is_ok());
  // The HSM goes away. Its client library writes to a closed socket: that
  // must neither end the process (SIGPIPE) nor hang; each operation fails.
  hsm_->stop_server();
  Status s = sign(*session);
  EXPECT_EQ(s.code(), WC_HW_E) << s.message();
  EXPECT_NE(s.message().find("session lost"), std::string::npos) << s.message();
  for (int i = 0; i < 3; ++i) {
    s = sign(*session);
    EXPECT_EQ(s.code(), WC_HW_E) << s.message();
  }
  // p11-kit's client does not reconnect by itself: once the server is back,
  // the device is opened again (the module is initialised afresh).
  ASSERT_TRUE(hsm_->start_server(&error)) << error;
  session.reset();
  const TokenConfig remote{SoftHsmToken::p11kit_client_path(), SoftHsmToken::kLabel,
                           PinSource::from_env(SoftHsmToken::kPinEnv)};
  EXPECT_FALSE(Token::open(remote).is_ok());  // the old Token still holds the broken module
  token.value().reset();                      // its last holder lets it go
  token = Token::open(remote);
  ASSERT_TRUE(token.is_ok()) << token.status().message();
  Session fresh(token.value());
  EXPECT_TRUE(sign(fresh).is_ok());
}

TEST_F(Pkcs11TokenTest, NoLoginRetryAfterThePinWasRefused) {
  const std::string path = hsm_->dir() + "/pin.txt";
  std::ofstream(path) << SoftHsmToken::kPin;
  token_.reset();
  auto token = Token::open({hsm_->module(), SoftHsmToken::kLabel, PinSource::from_file(path)});
  ASSERT_TRUE(token.is_ok()) << token.status().message();
  Session session(token.value());
  ASSERT_TRUE(sign(session).is_ok());
  // The PIN file now holds a wrong PIN, and the login is lost.
  std::ofstream(path) << "80417755";
  ASSERT_EQ(token.value()->fn()->C_CloseAllSessions(token.value()->binding().slot), CKR_OK);
  EXPECT_EQ(sign(session).code(), WC_HW_E);  // the session was lost
  Status s = sign(session);                  // recovery: the login is refused
  EXPECT_EQ(s.code(), WC_HW_E) << s.message();
  EXPECT_NE(s.message().find("CKR_PIN_INCORRECT"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("80417755"), std::string::npos) << s.message();
  // Even with the right PIN back in the file, no second C_Login is tried
  // (each one may count towards locking the PIN): the answer sticks.
  std::ofstream(path) << SoftHsmToken::kPin;
  Status again = sign(session);
  EXPECT_EQ(again.code(), WC_HW_E);
  EXPECT_EQ(again.message(), s.message());
}

}  // namespace
