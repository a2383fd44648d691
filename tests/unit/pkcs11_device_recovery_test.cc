// Tests of the pkcs11 device (src/backends/pkcs11/pkcs11_device.cc) when its token misbehaves
// under it: every session closed behind its back, and an out-of-process token (SoftHSM2 behind
// `p11-kit server`, a stand-in for a network HSM) that goes away with operations in flight. The
// layer's own handling of both is tested in pkcs11_session_test and pkcs11_token_test; these
// show what an application of the device sees: events that complete with a code, nothing that
// hangs, and service again once the token is back.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "backends/pkcs11/p11_token.h"
#include "support/pkcs11_device_fixture.h"
#include "support/pkcs11_test_keys.h"

namespace {

#ifdef WOLF_CRYPTO_CB

using asynccrypt::p11::PinSource;
using asynccrypt::p11::Token;
using asynccrypt::p11::TokenConfig;
using testing_support::arm;
using testing_support::Bytes;
using testing_support::digest_info;
using testing_support::ecc_verify;
using testing_support::pkcs11_spec;
using testing_support::Pkcs11DeviceTest;
using testing_support::Queue;
using testing_support::rsa_verify_pkcs1;
using testing_support::sha256;
using testing_support::SoftHsmToken;
using testing_support::TokenEcc;
using testing_support::TokenRsa;

// One armed ECDSA signature through the device's workers: the event's code,
// and on success the signature checked against the software key.
int pending_ecdsa(int dev_id, Queue& queue, const std::string& text) {
  TokenEcc ecc(dev_id);
  EXPECT_EQ(ecc.init, 0);
  const Bytes hash = sha256(text);
  Bytes sig(ECC_MAX_SIG_SIZE);
  word32 len = ECC_MAX_SIG_SIZE;
  arm(&ecc.key.asyncDev);
  const int first = wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key);
  if (first != WC_PENDING_E) return first;
  EXPECT_EQ(wolfAsync_EventQueuePush(queue.get(), &ecc.key.asyncDev.event), 0);
  EXPECT_EQ(queue.poll_until(1).size(), 1u);
  if (ecc.key.asyncDev.event.ret != 0) return ecc.key.asyncDev.event.ret;
  len = ECC_MAX_SIG_SIZE;
  const int second = wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key);
  sig.resize(len);
  EXPECT_TRUE(second != 0 || ecc_verify(sig, hash)) << text;
  return second;
}

// Queues `n` armed ECDSA signatures of `hash` (a key each) on the device:
// each call pends and its event is pushed. The keys go to *keys.
void queue_ecdsa(int dev_id, Queue& queue, const Bytes& hash, int n,
                 std::vector<std::unique_ptr<TokenEcc>>* keys) {
  Bytes sig(ECC_MAX_SIG_SIZE);
  for (int i = 0; i < n; ++i) {
    keys->push_back(std::make_unique<TokenEcc>(dev_id));
    TokenEcc& ecc = *keys->back();
    word32 len = ECC_MAX_SIG_SIZE;
    arm(&ecc.key.asyncDev);
    ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key),
              WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &ecc.key.asyncDev.event), 0);
  }
}

// An RSA PKCS#1 v1.5 signature made at once (no armed event: the device's
// own session for such calls); 0 when it verifies with the software key.
int immediate_rsa(int dev_id, const std::string& text) {
  TokenRsa rsa(dev_id);
  const Bytes in = digest_info(text);
  Bytes sig(256);
  const int n = wc_RsaSSL_Sign(in.data(), static_cast<word32>(in.size()), sig.data(), 256, &rsa.key,
                               &rsa.rng);
  if (n < 0) return n;
  sig.resize(static_cast<std::size_t>(n));
  EXPECT_TRUE(rsa_verify_pkcs1(sig, in)) << text;
  return 0;
}

// Another user of the same module in this process closes every session of
// the application on the token's slot, which also ends the shared login.
void close_every_session(const std::string& module) {
  auto other = Token::open(
      TokenConfig{module, SoftHsmToken::kLabel, PinSource::from_env(SoftHsmToken::kPinEnv)});
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  ASSERT_EQ(other.value()->fn()->C_CloseAllSessions(other.value()->binding().slot), CKR_OK);
}

TEST_F(Pkcs11DeviceTest, EverySessionClosedBehindTheDeviceCostsNoOperation) {
  open("workers=3");
  Queue queue;
  // Every worker and the device's own session have a session open.
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(pending_ecdsa(dev_id_, queue, "warm " + std::to_string(i)), 0);
  }
  ASSERT_EQ(immediate_rsa(dev_id_, "warm"), 0);
  close_every_session(hsm_->module());
  // The first worker to find out logs in again and tries its operation once
  // more; the others see the new login and reopen before they sign.
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(pending_ecdsa(dev_id_, queue, "after " + std::to_string(i)), 0)
        << i << ": " << device().last_error();
  }
  EXPECT_EQ(immediate_rsa(dev_id_, "after"), 0) << device().last_error();
  EXPECT_EQ(stats().completed, 24u);
}

TEST_F(Pkcs11DeviceTest, SessionsClosedWithOperationsInFlightCostNoOperation) {
  open("workers=4");
  Queue queue;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(pending_ecdsa(dev_id_, queue, "warm " + std::to_string(i)), 0);
  }
  // 32 operations queued behind held workers; every session goes away
  // before any of them runs; then the four workers take them at once and
  // all find their sessions lost together.
  device().hold();
  constexpr int kOps = 32;
  const Bytes hash = sha256("in flight");
  Bytes sig(ECC_MAX_SIG_SIZE);
  std::vector<std::unique_ptr<TokenEcc>> keys;
  ASSERT_NO_FATAL_FAILURE(queue_ecdsa(dev_id_, queue, hash, kOps, &keys));
  close_every_session(hsm_->module());
  device().release();
  ASSERT_EQ(queue.poll_until(kOps).size(), static_cast<std::size_t>(kOps));
  for (int i = 0; i < kOps; ++i) {
    ASSERT_EQ(keys[i]->key.asyncDev.event.ret, 0) << i << ": " << device().last_error();
    word32 len = ECC_MAX_SIG_SIZE;
    ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &keys[i]->rng, &keys[i]->key), 0);
    EXPECT_TRUE(ecc_verify(Bytes(sig.begin(), sig.begin() + len), hash)) << i;
  }
}

// Pkcs11RemoteDeviceTest opens the device on p11-kit's client module,
// which reaches the token through a `p11-kit server` on a socket.
class Pkcs11RemoteDeviceTest : public Pkcs11DeviceTest {
 protected:
  void SetUp() override {
    Pkcs11DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    wolfAsync_DevClose(&dev_id_);
    device_.reset();
    std::string error;
    if (!hsm_->start_server(&error)) {
      if (SoftHsmToken::required()) FAIL() << error;
      GTEST_SKIP() << error;
    }
    open_remote();
  }

  void TearDown() override {
    Pkcs11DeviceTest::TearDown();
    if (hsm_ != nullptr) hsm_->stop_server();
  }

  void open_remote() { open_spec(pkcs11_spec(SoftHsmToken::p11kit_client_path(), "workers=2")); }
};

TEST_F(Pkcs11RemoteDeviceTest, ServerGoingAwayFailsQueuedAndLaterOperationsAndNothingHangs) {
  Queue queue;
  ASSERT_EQ(pending_ecdsa(dev_id_, queue, "remote"), 0) << device().last_error();
  ASSERT_EQ(immediate_rsa(dev_id_, "remote"), 0) << device().last_error();

  // Six operations wait for the workers when the HSM goes away.
  device().hold();
  constexpr int kOps = 6;
  std::vector<std::unique_ptr<TokenEcc>> keys;
  ASSERT_NO_FATAL_FAILURE(queue_ecdsa(dev_id_, queue, sha256("server gone"), kOps, &keys));
  hsm_->stop_server();
  device().release();
  ASSERT_EQ(queue.poll_until(kOps).size(), static_cast<std::size_t>(kOps));
  for (int i = 0; i < kOps; ++i) EXPECT_EQ(keys[i]->key.asyncDev.event.ret, WC_HW_E) << i;
  const std::string error = device().last_error();
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find(SoftHsmToken::kPin), std::string::npos) << error;

  // Later operations fail too, through a worker and at once.
  EXPECT_EQ(pending_ecdsa(dev_id_, queue, "still gone"), WC_HW_E);
  EXPECT_EQ(immediate_rsa(dev_id_, "still gone"), WC_HW_E);

  // The HSM is back. p11-kit's client does not reconnect by itself: the
  // application closes the device (the module is finalised with its last
  // holder) and opens it again.
  std::string start_error;
  ASSERT_TRUE(hsm_->start_server(&start_error)) << start_error;
  open_remote();
  EXPECT_EQ(pending_ecdsa(dev_id_, queue, "back"), 0) << device().last_error();
  EXPECT_EQ(immediate_rsa(dev_id_, "back"), 0) << device().last_error();
}

TEST_F(Pkcs11RemoteDeviceTest, ServerGoingAwayWhileTheDeviceIsIdleThenClosingIt) {
  Queue queue;
  ASSERT_EQ(pending_ecdsa(dev_id_, queue, "remote"), 0) << device().last_error();
  hsm_->stop_server();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pending_ecdsa(dev_id_, queue, "gone"), WC_HW_E);
  // Closing a device whose HSM is gone neither hangs nor crashes (TearDown).
}

#else  // !WOLF_CRYPTO_CB

TEST(Pkcs11DeviceRecovery, NeedsCryptoCallbacks) { ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP(); }

#endif  // WOLF_CRYPTO_CB

}  // namespace
