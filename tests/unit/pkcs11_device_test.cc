// Tests of the pkcs11 device kind (src/backends/pkcs11/pkcs11_device.cc) on a SoftHSM2 token:
// wolfCrypt calls on keys by id or label pend, a worker signs on its own session, the event
// completes through the queue; results verified with the software keys.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "support/pkcs11_device_fixture.h"
#include "support/pkcs11_test_keys.h"

namespace {

// Keys by id or label (WOLF_PRIVATE_KEY_ID) come with crypto callbacks; the
// build gate is in pkcs11_device_open_test.
#ifdef WOLF_CRYPTO_CB

using testing_support::arm;
using testing_support::Bytes;
using testing_support::digest_info;
using testing_support::ecc_verify;
using testing_support::pending_rsa_pkcs1;
using testing_support::Pkcs11DeviceTest;
using testing_support::Queue;
using testing_support::rsa_verify_pkcs1;
using testing_support::rsa_verify_pss;
using testing_support::sha256;
using testing_support::soft_pkcs1;
using testing_support::TokenEcc;
using testing_support::TokenRsa;

TEST_F(Pkcs11DeviceTest, IdIsOutsideTheSmallIdsAndKindIsPkcs11) {
  EXPECT_GE(dev_id_, asynccrypt::Device::kCallbackIdBase);
  char kind[16] = {};
  ASSERT_EQ(asynccrypt_DevKind(dev_id_, kind, sizeof kind), 0);
  EXPECT_STREQ(kind, "pkcs11");
}

TEST_F(Pkcs11DeviceTest, RsaPkcs1SignPendsAndMatchesTheSoftwareKey) {
  TokenRsa rsa(dev_id_);
  ASSERT_EQ(rsa.init, 0);
  Queue queue;
  const Bytes in = digest_info("pkcs1 over the queue");
  int first = 0;
  const Bytes sig = pending_rsa_pkcs1(rsa, in, queue, &first);
  EXPECT_EQ(first, WC_PENDING_E);
  ASSERT_EQ(sig.size(), 256u);
  EXPECT_EQ(sig, soft_pkcs1(in));
  EXPECT_TRUE(rsa_verify_pkcs1(sig, in));
  EXPECT_EQ(stats().completed, 1u);
  EXPECT_EQ(stats().inline_runs, 0u);
}

TEST_F(Pkcs11DeviceTest, RsaKeyByLabel) {
  TokenRsa rsa(dev_id_, "rsa-2048");
  ASSERT_EQ(rsa.init, 0);
  Queue queue;
  const Bytes in = digest_info("by label");
  int first = 0;
  EXPECT_EQ(pending_rsa_pkcs1(rsa, in, queue, &first), soft_pkcs1(in));
  EXPECT_EQ(first, WC_PENDING_E);
}

TEST_F(Pkcs11DeviceTest, RsaPssSignPendsAndVerifies) {
  TokenRsa rsa(dev_id_);
  ASSERT_EQ(rsa.init, 0);
  Queue queue;
  const Bytes hash = sha256("pss over the queue");
  Bytes sig(256);
  arm(&rsa.key.asyncDev);
  ASSERT_EQ(wc_RsaPSS_Sign(hash.data(), static_cast<word32>(hash.size()), sig.data(),
                           static_cast<word32>(sig.size()), WC_HASH_TYPE_SHA256, WC_MGF1SHA256,
                           &rsa.key, &rsa.rng),
            WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &rsa.key.asyncDev.event), 0);
  ASSERT_EQ(queue.poll_until(1).size(), 1u);
  ASSERT_EQ(rsa.key.asyncDev.event.ret, 0);
  const int n = wc_RsaPSS_Sign(hash.data(), static_cast<word32>(hash.size()), sig.data(),
                               static_cast<word32>(sig.size()), WC_HASH_TYPE_SHA256, WC_MGF1SHA256,
                               &rsa.key, &rsa.rng);
  ASSERT_EQ(n, 256);
  EXPECT_TRUE(rsa_verify_pss(sig, hash));
}

TEST_F(Pkcs11DeviceTest, EcdsaP256SignPendsThenIsHandedOverOnTheSecondCall) {
  TokenEcc ecc(dev_id_);
  ASSERT_EQ(ecc.init, 0);
  Queue queue;
  const Bytes hash = sha256("ecdsa over the queue");
  Bytes sig(ECC_MAX_SIG_SIZE);
  word32 len = static_cast<word32>(sig.size());
  arm(&ecc.key.asyncDev);
  ASSERT_EQ(wc_ecc_sign_hash(hash.data(), static_cast<word32>(hash.size()), sig.data(), &len,
                             &ecc.rng, &ecc.key),
            WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &ecc.key.asyncDev.event), 0);
  ASSERT_EQ(queue.poll_until(1).size(), 1u);
  ASSERT_EQ(ecc.key.asyncDev.event.ret, 0);
  len = static_cast<word32>(sig.size());
  ASSERT_EQ(wc_ecc_sign_hash(hash.data(), static_cast<word32>(hash.size()), sig.data(), &len,
                             &ecc.rng, &ecc.key),
            0);
  sig.resize(len);
  EXPECT_TRUE(ecc_verify(sig, hash));
}

TEST_F(Pkcs11DeviceTest, RsaPrivateDecryptPendsAndGivesThePlaintext) {
  // TLS 1.2's RSA key exchange: C_Decrypt on the token, wolfCrypt unpads.
  RsaKey pub;
  WC_RNG rng;
  wc_InitRng(&rng);
  wc_InitRsaKey(&pub, nullptr);
  word32 idx = 0;
  ASSERT_EQ(wc_RsaPrivateKeyDecode(server_key_der_2048, &idx, &pub, sizeof_server_key_der_2048), 0);
  const std::string secret = "a premaster secret of 48 bytes, more or less...";
  Bytes cipher(256);
  ASSERT_EQ(wc_RsaPublicEncrypt(reinterpret_cast<const byte*>(secret.data()),
                                static_cast<word32>(secret.size()), cipher.data(), 256, &pub, &rng),
            256);
  wc_FreeRsaKey(&pub);
  wc_FreeRng(&rng);

  TokenRsa rsa(dev_id_);
  Queue queue;
  Bytes plain(256);
  arm(&rsa.key.asyncDev);
  ASSERT_EQ(wc_RsaPrivateDecrypt(cipher.data(), 256, plain.data(), 256, &rsa.key), WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &rsa.key.asyncDev.event), 0);
  ASSERT_EQ(queue.poll_until(1).size(), 1u);
  ASSERT_EQ(rsa.key.asyncDev.event.ret, 0) << device().last_error();
  const int n = wc_RsaPrivateDecrypt(cipher.data(), 256, plain.data(), 256, &rsa.key);
  ASSERT_EQ(n, static_cast<int>(secret.size()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(plain.data()), secret.size()), secret);
}

TEST_F(Pkcs11DeviceTest, UnarmedCallsRunAtOnce) {
  // wolfSSL_CTX_check_private_key or an application's own wolfCrypt call:
  // nobody will push an event, so the device must not pend.
  TokenRsa rsa(dev_id_);
  const Bytes in = digest_info("synchronous");
  Bytes sig(256);
  const int n = wc_RsaSSL_Sign(in.data(), static_cast<word32>(in.size()), sig.data(),
                               static_cast<word32>(sig.size()), &rsa.key, &rsa.rng);
  ASSERT_EQ(n, 256);
  EXPECT_EQ(sig, soft_pkcs1(in));

  TokenEcc ecc(dev_id_);
  const Bytes hash = sha256("synchronous");
  Bytes esig(ECC_MAX_SIG_SIZE);
  word32 len = static_cast<word32>(esig.size());
  ASSERT_EQ(wc_ecc_sign_hash(hash.data(), static_cast<word32>(hash.size()), esig.data(), &len,
                             &ecc.rng, &ecc.key),
            0);
  esig.resize(len);
  EXPECT_TRUE(ecc_verify(esig, hash));
  EXPECT_EQ(stats().submitted, 0u);
}

TEST_F(Pkcs11DeviceTest, RsaPublicOperationsUseThePublicKeyFromTheToken) {
  // TLS checks its own RSA signature with the same key object.
  TokenRsa rsa(dev_id_);
  EXPECT_EQ(wc_RsaEncryptSize(&rsa.key), 256);
  const Bytes in = digest_info("check");
  const Bytes sig = soft_pkcs1(in);
  Bytes out(256);
  const int n = wc_RsaSSL_Verify(sig.data(), static_cast<word32>(sig.size()), out.data(),
                                 static_cast<word32>(out.size()), &rsa.key);
  ASSERT_EQ(n, static_cast<int>(in.size()));
  out.resize(in.size());
  EXPECT_EQ(out, in);
}

TEST_F(Pkcs11DeviceTest, MissingKeyFailsTheEventWithItsCode) {
  TokenEcc ecc(dev_id_, 0x7f);
  Queue queue;
  const Bytes hash = sha256("no such key");
  Bytes sig(ECC_MAX_SIG_SIZE);
  word32 len = static_cast<word32>(sig.size());
  arm(&ecc.key.asyncDev);
  ASSERT_EQ(wc_ecc_sign_hash(hash.data(), static_cast<word32>(hash.size()), sig.data(), &len,
                             &ecc.rng, &ecc.key),
            WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &ecc.key.asyncDev.event), 0);
  ASSERT_EQ(queue.poll_until(1).size(), 1u);
  EXPECT_EQ(ecc.key.asyncDev.event.ret, MISSING_KEY);
  EXPECT_NE(device().last_error().find("7f"), std::string::npos) << device().last_error();

#ifdef _WC_PK_TYPE_MAX
  // RSA asks the key's size first, synchronously: a missing key fails there
  // (5.5.4 has no size query: it takes such a key for 2048 bits).
  unsigned char id[] = {0x7f};
  RsaKey key;
  ASSERT_EQ(wc_InitRsaKey_Id(&key, id, 1, nullptr, dev_id_), 0);
  EXPECT_EQ(wc_RsaEncryptSize(&key), 0);
  wc_FreeRsaKey(&key);
#endif
}

TEST_F(Pkcs11DeviceTest, ATokenThatWentAwayFailsOperationsWithCodesAndNothingHangs) {
  // Sign once (at once, on the device's own session), then pull the token.
  TokenEcc ecc(dev_id_);
  Queue queue;
  const Bytes hash = sha256("token pulled");
  Bytes sig(ECC_MAX_SIG_SIZE);
  word32 len = ECC_MAX_SIG_SIZE;
  ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key), 0);
  ASSERT_TRUE(hsm_->remove_token_files());
  // Through a worker: the event completes with the layer's code.
  for (int i = 0; i < 3; ++i) {
    len = ECC_MAX_SIG_SIZE;
    arm(&ecc.key.asyncDev);
    ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key),
              WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &ecc.key.asyncDev.event), 0);
    ASSERT_EQ(queue.poll_until(1).size(), 1u);
    EXPECT_EQ(ecc.key.asyncDev.event.ret, WC_HW_E) << device().last_error();
  }
  // At once (unarmed): the call fails with the same code.
  len = ECC_MAX_SIG_SIZE;
  EXPECT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key), WC_HW_E);
  EXPECT_FALSE(device().last_error().empty());
}

TEST_F(Pkcs11DeviceTest, ManyOperationsInFlightWhileTheLoopPolls) {
  // Held workers: every operation is in flight at once, and polls find
  // nothing until the "HSM" answers.
  device().hold();
  constexpr int kKeys = 24;
  std::vector<std::unique_ptr<TokenEcc>> eccs;
  std::vector<std::unique_ptr<TokenRsa>> rsas;
  std::vector<Bytes> hashes, ins, esigs(kKeys, Bytes(ECC_MAX_SIG_SIZE)), rsigs(kKeys, Bytes(256));
  std::vector<word32> lens(kKeys, ECC_MAX_SIG_SIZE);
  Queue queue;
  for (int i = 0; i < kKeys; ++i) {
    eccs.push_back(std::make_unique<TokenEcc>(dev_id_));
    rsas.push_back(std::make_unique<TokenRsa>(dev_id_));
    hashes.push_back(sha256("ecdsa " + std::to_string(i)));
    ins.push_back(digest_info("rsa " + std::to_string(i)));
    TokenEcc& e = *eccs.back();
    TokenRsa& r = *rsas.back();
    arm(&e.key.asyncDev);
    ASSERT_EQ(wc_ecc_sign_hash(hashes[i].data(), 32, esigs[i].data(), &lens[i], &e.rng, &e.key),
              WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &e.key.asyncDev.event), 0);
    arm(&r.key.asyncDev);
    ASSERT_EQ(wc_RsaSSL_Sign(ins[i].data(), static_cast<word32>(ins[i].size()), rsigs[i].data(),
                             256, &r.key, &r.rng),
              WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &r.key.asyncDev.event), 0);
  }
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(queue.poll().empty());
  EXPECT_EQ(stats().in_flight, 2u * kKeys);
  device().release();
  EXPECT_EQ(queue.poll_until(2 * kKeys).size(), 2u * kKeys);
  for (int i = 0; i < kKeys; ++i) {
    TokenEcc& e = *eccs[i];
    ASSERT_EQ(e.key.asyncDev.event.ret, 0);
    lens[i] = ECC_MAX_SIG_SIZE;
    ASSERT_EQ(wc_ecc_sign_hash(hashes[i].data(), 32, esigs[i].data(), &lens[i], &e.rng, &e.key), 0);
    esigs[i].resize(lens[i]);
    EXPECT_TRUE(ecc_verify(esigs[i], hashes[i])) << i;
    TokenRsa& r = *rsas[i];
    ASSERT_EQ(r.key.asyncDev.event.ret, 0);
    ASSERT_EQ(wc_RsaSSL_Sign(ins[i].data(), static_cast<word32>(ins[i].size()), rsigs[i].data(),
                             256, &r.key, &r.rng),
              256);
    EXPECT_TRUE(rsa_verify_pkcs1(rsigs[i], ins[i])) << i;
  }
  EXPECT_EQ(stats().completed, 2u * kKeys);
  EXPECT_EQ(stats().inline_runs, 0u);
}

TEST_F(Pkcs11DeviceTest, FreeingAKeyWithItsOperationQueuedWithdrawsIt) {
  device().hold();
  Queue queue;
  auto doomed = std::make_unique<TokenEcc>(dev_id_);
  TokenEcc kept(dev_id_);
  const Bytes hash = sha256("freed in flight");
  Bytes sig(ECC_MAX_SIG_SIZE);
  for (TokenEcc* e : {doomed.get(), &kept}) {
    word32 len = ECC_MAX_SIG_SIZE;
    arm(&e->key.asyncDev);
    ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &e->rng, &e->key), WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &e->key.asyncDev.event), 0);
  }
  doomed.reset();  // wc_ecc_free: withdrawn before any worker saw it
  EXPECT_EQ(stats().cancelled, 1u);
  device().release();
  EXPECT_EQ(queue.poll_until(1).size(), 1u);
  EXPECT_EQ(kept.key.asyncDev.event.ret, 0);
  EXPECT_EQ(stats().completed, 1u);
}

TEST_F(Pkcs11DeviceTest, FreeingAKeyWhoseSignatureWasNeverCollectedForgetsIt) {
  // Signed, harvested, then freed without the second call: freeing runs
  // Device::forget, and a new key at the same address starts afresh.
  Queue queue;
  const Bytes hash = sha256("never collected");
  for (int round = 0; round < 3; ++round) {
    TokenEcc ecc(dev_id_);
    Bytes sig(ECC_MAX_SIG_SIZE);
    word32 len = ECC_MAX_SIG_SIZE;
    arm(&ecc.key.asyncDev);
    ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &ecc.rng, &ecc.key),
              WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &ecc.key.asyncDev.event), 0);
    ASSERT_EQ(queue.poll_until(1).size(), 1u);
  }
  EXPECT_EQ(stats().completed, 3u);
}

TEST_F(Pkcs11DeviceTest, AFullDeviceRunsTheOperationInTheSubmitter) {
  open("workers=1,depth=1");
  device().hold();
  Queue queue;
  TokenEcc first(dev_id_), second(dev_id_);
  const Bytes hash = sha256("overflow");
  Bytes sig(ECC_MAX_SIG_SIZE);
  for (TokenEcc* e : {&first, &second}) {
    word32 len = ECC_MAX_SIG_SIZE;
    arm(&e->key.asyncDev);
    ASSERT_EQ(wc_ecc_sign_hash(hash.data(), 32, sig.data(), &len, &e->rng, &e->key), WC_PENDING_E);
    ASSERT_EQ(wolfAsync_EventQueuePush(queue.get(), &e->key.asyncDev.event), 0);
  }
  EXPECT_EQ(stats().inline_runs, 1u);
  // The overflow is done although the worker is held.
  EXPECT_EQ(queue.poll_until(1).size(), 1u);
  EXPECT_EQ(second.key.asyncDev.event.ret, 0);
  device().release();
  EXPECT_EQ(queue.poll_until(1).size(), 1u);
  EXPECT_EQ(first.key.asyncDev.event.ret, 0);
}

TEST_F(Pkcs11DeviceTest, DelayOptionStillSignsCorrectly) {
  open("workers=2,delay_us=2000");
  TokenRsa rsa(dev_id_);
  Queue queue;
  const Bytes in = digest_info("slow hsm");
  int first = 0;
  EXPECT_EQ(pending_rsa_pkcs1(rsa, in, queue, &first), soft_pkcs1(in));
  EXPECT_EQ(first, WC_PENDING_E);
}

TEST_F(Pkcs11DeviceTest, OpeningAndClosingManyTimesReusesTheCallbackSlots) {
  // wolfSSL's callback table has 8 entries: closing must give them back.
  for (int i = 0; i < 12; ++i) open("workers=1");
}

TEST_F(Pkcs11DeviceTest, ClosingTheDeviceWhileAnotherThreadIsInItsCallback) {
  // An application thread signs at once (unarmed: the device's callback
  // runs the operation itself, about a millisecond in SoftHSM2) again and
  // again while this thread closes the device. The callback in progress
  // keeps the device alive until it returns; calls after the close find no
  // device and fail with a code. ASan (make hsm) sees any use after free.
  for (int round = 0; round < 5; ++round) {
    open("workers=1");
    std::atomic<bool> stop{false};
    std::atomic<int> signed_ok{0}, failed{0};
    std::thread signer([&] {
      TokenRsa rsa(dev_id_);
      const Bytes in = digest_info("racing the close");
      Bytes sig(256);
      while (!stop.load()) {
        const int n = wc_RsaSSL_Sign(in.data(), static_cast<word32>(in.size()), sig.data(), 256,
                                     &rsa.key, &rsa.rng);
        (n == 256 ? signed_ok : failed).fetch_add(1);
      }
    });
    while (signed_ok.load() < 3 && failed.load() == 0) std::this_thread::yield();
    wolfAsync_DevClose(&dev_id_);
    device_.reset();
    const int failed_at_close = failed.load();
    while (failed.load() < failed_at_close + 3) std::this_thread::yield();
    stop = true;
    signer.join();
    EXPECT_GE(signed_ok.load(), 3);
  }
}

#else  // !WOLF_CRYPTO_CB

TEST(Pkcs11Device, NeedsCryptoCallbacks) { ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP(); }

#endif  // WOLF_CRYPTO_CB

}  // namespace
