// Non-blocking RSA and DH (wolfSSL 5.9: WC_RSA_NONBLOCK, WC_DH_NONBLOCK) on
// every device kind: results identical to blocking wolfCrypt; on the
// simulator each operation runs in slices over many polls; no device
// declines an operation on a key that carries a non-blocking context.
//
// RSA needs a wolfSSL configured with --enable-rsa=nonblock
// --enable-sp=yes,nonblock CPPFLAGS=-DRSA_LOW_MEM (the Makefile's
// nonblock-rsa configuration), DH --enable-dh=nonblock (the nonblock
// configuration on 5.9); elsewhere those tests are skipped.
#include "core/wolfssl_api.h"

#define USE_CERT_BUFFERS_2048
#include <wolfssl/certs_test.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "asynccrypt/device.h"
#include "support/device_open.h"
#include "support/polled_op.h"

namespace {

#if !defined(NO_RSA) && defined(WC_RSA_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && \
    defined(WC_ASYNC_ENABLE_RSA)
#define HAVE_NONBLOCK_RSA 1
#endif
#if !defined(NO_DH) && defined(WC_DH_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && \
    defined(WC_ASYNC_ENABLE_DH)
#define HAVE_NONBLOCK_DH 1
#endif

using Bytes = std::vector<byte>;

// Device kinds; the simulator's small slice budget makes every operation
// take many polls. threads (declining cheap kinds) and chaos must still
// take every operation on a non-blocking key.
const char* const kSpecs[] = {"sim:slices=64",
                              "sim:slices=64,skip=3",
                              "threads",
                              "threads:inline_us=0",
                              "chaos:seed=1,maxpolls=4",
                              "chaos:seed=2,over=threads,workers=2,delay=300"};

std::string spec_name(const ::testing::TestParamInfo<const char*>& info) {
  std::string name;
  for (const char* p = info.param; *p != '\0'; ++p) {
    name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  }
  return name;
}

using asynccrypt::DeviceHandle;
using testing_support::open_device;
using testing_support::PolledRun;
using testing_support::Resume;
using testing_support::run_polled;
using testing_support::stats_of;

class NonblockRsaDh : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { ASSERT_EQ(wc_InitRng(&rng_), 0); }
  void TearDown() override { wc_FreeRng(&rng_); }
  bool on_sim() const { return std::string(GetParam()).rfind("sim", 0) == 0; }
  WC_RNG rng_;
};

#ifdef HAVE_NONBLOCK_RSA

// The test's RSA-2048 key, bound to dev_id (or to no device).
void load_rsa(RsaKey* key, int dev_id) {
  ASSERT_EQ(wc_InitRsaKey_ex(key, nullptr, dev_id), 0);
  word32 idx = 0;
  ASSERT_EQ(wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, key, sizeof_client_key_der_2048), 0);
}

TEST_P(NonblockRsaDh, RsaSignVerifyDecryptMatchBlocking) {
  DeviceHandle dev = open_device(GetParam());
  RsaKey sync_key, key;
  RsaNb nb;
  load_rsa(&sync_key, INVALID_DEVID);
  load_rsa(&key, dev.id());
  ASSERT_EQ(wc_RsaSetNonBlock(&key, &nb), 0);
  ASSERT_EQ(wc_RsaSetRNG(&key, &rng_), 0);
  const Bytes msg(48, 0x5c);

  // PKCS#1 v1.5 signatures are deterministic: byte-identical.
  Bytes want(256), sig(256);
  const int want_len =
      wc_RsaSSL_Sign(msg.data(), msg.size(), want.data(), want.size(), &sync_key, &rng_);
  ASSERT_EQ(want_len, 256);
  const PolledRun sign = run_polled(&key.asyncDev, Resume::kCallAgain, [&] {
    return wc_RsaSSL_Sign(msg.data(), msg.size(), sig.data(), sig.size(), &key, &rng_);
  });
  ASSERT_EQ(sign.result, want_len);
  EXPECT_EQ(sig, want);
  if (on_sim()) {
    EXPECT_GT(sign.polls, 20) << "private operation not in slices";
  }

  Bytes plain(256);
  const PolledRun verify = run_polled(&key.asyncDev, Resume::kCallAgain, [&] {
    return wc_RsaSSL_Verify(sig.data(), sig.size(), plain.data(), plain.size(), &key);
  });
  ASSERT_EQ(verify.result, static_cast<int>(msg.size()));
  plain.resize(msg.size());
  EXPECT_EQ(plain, msg);

  // Encrypted without a device, decrypted on it.
  Bytes sealed(256), opened(256);
  ASSERT_EQ(
      wc_RsaPublicEncrypt(msg.data(), msg.size(), sealed.data(), sealed.size(), &sync_key, &rng_),
      256);
  const PolledRun decrypt = run_polled(&key.asyncDev, Resume::kCallAgain, [&] {
    return wc_RsaPrivateDecrypt(sealed.data(), sealed.size(), opened.data(), opened.size(), &key);
  });
  ASSERT_EQ(decrypt.result, static_cast<int>(msg.size()));
  opened.resize(msg.size());
  EXPECT_EQ(opened, msg);
  if (on_sim()) {
    EXPECT_GT(decrypt.polls, 20) << "private operation not in slices";
  }

  EXPECT_EQ(stats_of(dev).declined, 0u) << "a key with a non-blocking context was declined";
  wc_FreeRsaKey(&key);
  wc_FreeRsaKey(&sync_key);
}

#else
TEST_P(NonblockRsaDh, NeedsNonblockRsa) {
  GTEST_SKIP() << "wolfSSL built without WC_RSA_NONBLOCK (--enable-rsa=nonblock)";
}
#endif  // HAVE_NONBLOCK_RSA

#ifdef HAVE_NONBLOCK_DH

// A DH key on the FFDHE-2048 group, bound to dev_id.
void init_dh(DhKey* key, int dev_id) {
  ASSERT_EQ(wc_InitDhKey_ex(key, nullptr, dev_id), 0);
  ASSERT_EQ(wc_DhSetNamedKey(key, WC_FFDHE_2048), 0);
}

TEST_P(NonblockRsaDh, DhAgreementMatchesBlocking) {
  DeviceHandle dev = open_device(GetParam());
  DhKey peer, key;
  DhNb nb;
  init_dh(&peer, INVALID_DEVID);
  init_dh(&key, dev.id());
  ASSERT_EQ(wc_DhSetNonBlock(&key, &nb), 0);
  Bytes peer_priv(256), peer_pub(256), priv(256), pub(256);
  word32 peer_priv_len = 256, peer_pub_len = 256, priv_len = 256, pub_len = 256;
  ASSERT_EQ(wc_DhGenerateKeyPair(&peer, &rng_, peer_priv.data(), &peer_priv_len, peer_pub.data(),
                                 &peer_pub_len),
            0);
  const PolledRun generate = run_polled(&key.asyncDev, Resume::kEventResult, [&] {
    return wc_DhGenerateKeyPair(&key, &rng_, priv.data(), &priv_len, pub.data(), &pub_len);
  });
  // wolfSSL 5.9 has no non-blocking DH key generation (only the
  // agreement yields): it runs whole, in one poll.
  ASSERT_EQ(generate.result, 0);

  Bytes secret(256), want(256);
  word32 secret_len = 256, want_len = 256;
  const PolledRun agree = run_polled(&key.asyncDev, Resume::kEventResult, [&] {
    return wc_DhAgree(&key, secret.data(), &secret_len, priv.data(), priv_len, peer_pub.data(),
                      peer_pub_len);
  });
  ASSERT_EQ(agree.result, 0);
  if (on_sim()) {
    // FFDHE-2048 takes about 1,200 steps: some 19 polls of 64 slices.
    EXPECT_GT(agree.polls, 10) << "agreement not in slices";
  }
  ASSERT_EQ(wc_DhAgree(&peer, want.data(), &want_len, peer_priv.data(), peer_priv_len, pub.data(),
                       pub_len),
            0);
  secret.resize(secret_len);
  want.resize(want_len);
  EXPECT_EQ(secret, want);
  EXPECT_EQ(stats_of(dev).declined, 0u) << "a key with a non-blocking context was declined";
  wc_FreeDhKey(&key);
  wc_FreeDhKey(&peer);
}

#else
TEST_P(NonblockRsaDh, NeedsNonblockDh) {
  GTEST_SKIP() << "wolfSSL built without WC_DH_NONBLOCK (--enable-dh=nonblock, wolfSSL 5.9)";
}
#endif  // HAVE_NONBLOCK_DH

INSTANTIATE_TEST_SUITE_P(Devices, NonblockRsaDh, ::testing::ValuesIn(kSpecs), spec_name);

}  // namespace
