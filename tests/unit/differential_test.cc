// Differential tests on every device kind (tests/support/device_list.h): RSA, ECC, DH, AES
// and 3DES through the device, many in flight at once, against the same operations done
// synchronously by wolfCrypt.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/des3.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "asynccrypt/queue.h"
#include "support/batch.h"
#include "support/crypto_jobs.h"
#include "support/device_list.h"
#include "support/device_open.h"
#include "support/test_queue.h"
#include "support/test_random.h"

namespace {

using testing_support::Bytes;
using testing_support::cbc_job;
using testing_support::init_aes_cbc;
using testing_support::Job;
using testing_support::load_rsa;
using testing_support::make_ecc_pair;
using testing_support::new_queue;
using testing_support::random_bytes;
using testing_support::rsa_sign_job;
using testing_support::run_batch;
using testing_support::stats_of;
using testing_support::sync_cbc_encrypt;
using testing_support::sync_gcm_encrypt;
using testing_support::test_seed;  // every randomized test prints its seed

// ---------------------------------------------------------------------------
// Differential tests: the device against synchronous wolfCrypt
// ---------------------------------------------------------------------------

using testing_support::Pends;

class Differential : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(wc_InitRng(&rng_), 0);
    rng_ok_ = true;
    gen_.seed(test_seed());
  }
  void TearDown() override {
    if (rng_ok_) wc_FreeRng(&rng_);
    if (!dev_.is_open()) return;
    const auto s = stats_of(dev_);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.submitted, s.completed + s.cancelled);
  }

  // Whether every public-key (or 3DES) operation of the test must have
  // pended: not on a device that may decline (threads_declining) or that
  // declines what its driver lacks (dpdk on crypto_aesni_mb: RSA, ECC, DH,
  // 3DES).
  bool public_key_pends() const { return GetParam().pends == Pends::kEveryOp; }
  // Likewise for AES above its threshold (only the declining device may
  // keep it).
  bool aes_pends() const { return GetParam().pends != Pends::kMaybe; }

  WC_RNG rng_;  // shared by every operation in flight, on purpose
  bool rng_ok_ = false;
  std::mt19937 gen_;
  asynccrypt::EventQueue queue_ = new_queue();
};

constexpr int kObjects = 16;  // operations in flight at once
constexpr int kRounds = 4;

TEST_P(Differential, RsaSign) {
  RsaKey sync_key;
  load_rsa(&sync_key, INVALID_DEVID);
  std::vector<RsaKey> keys(kObjects);
  for (auto& k : keys) {
    load_rsa(&k, dev_id());
    wc_RsaSetRNG(&k, &rng_);
  }
  int pended = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Bytes> msgs(kObjects), sigs(kObjects);
    std::vector<Job> jobs(kObjects);
    for (int i = 0; i < kObjects; ++i) {
      msgs[i] = random_bytes(gen_, 1 + gen_() % 64);
      jobs[i] = rsa_sign_job(&keys[i], &sync_key, &rng_, msgs[i], &sigs[i]);
    }
    pended += run_batch(queue_, jobs).pended;
  }
  if (public_key_pends()) {
    EXPECT_GE(pended, kObjects * kRounds);
  }
  for (auto& k : keys) wc_FreeRsaKey(&k);
  wc_FreeRsaKey(&sync_key);
}

TEST_P(Differential, RsaFunctionPrivateAndPublic) {
  RsaKey sync_key;
  load_rsa(&sync_key, INVALID_DEVID);
  std::vector<RsaKey> keys(kObjects);
  for (auto& k : keys) load_rsa(&k, dev_id());
  int pended = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int type : {RSA_PRIVATE_DECRYPT, RSA_PUBLIC_ENCRYPT}) {
      std::vector<Bytes> in(kObjects), out(kObjects, Bytes(256));
      std::vector<word32> out_len(kObjects, 256);
      std::vector<Job> jobs(kObjects);
      for (int i = 0; i < kObjects; ++i) {
        in[i] = random_bytes(gen_, 256);
        in[i][0] = 0;  // below the modulus
        auto call = [&, i, type] {
          return wc_RsaFunction(in[i].data(), 256, out[i].data(), &out_len[i], type, &keys[i],
                                &rng_);
        };
        jobs[i] = Job{&keys[i].asyncDev, call, nullptr, [&, i, type](int ret) {
                        ASSERT_EQ(ret, 0) << "input " << i;
                        Bytes expect(256);
                        word32 expect_len = 256;
                        ASSERT_EQ(wc_RsaFunction(in[i].data(), 256, expect.data(), &expect_len,
                                                 type, &sync_key, &rng_),
                                  0);
                        EXPECT_EQ(out_len[i], expect_len);
                        EXPECT_EQ(out[i], expect) << "input " << i;
                      }};
      }
      pended += run_batch(queue_, jobs).pended;
    }
  }
  if (public_key_pends()) {
    EXPECT_GE(pended, kObjects * kRounds * 2);
  }
  for (auto& k : keys) wc_FreeRsaKey(&k);
  wc_FreeRsaKey(&sync_key);
}

TEST_P(Differential, EcdsaSignThenSyncVerify) {
  std::vector<ecc_key> keys(kObjects), verify(kObjects);
  for (int i = 0; i < kObjects; ++i) {
    make_ecc_pair(dev_id(), &rng_, &keys[i], &verify[i]);
    wc_ecc_set_rng(&keys[i], &rng_);
  }
  int pended = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Bytes> hashes(kObjects), sigs(kObjects, Bytes(ECC_MAX_SIG_SIZE));
    std::vector<word32> sig_len(kObjects);
    std::vector<Job> jobs(kObjects);
    for (int i = 0; i < kObjects; ++i) {
      hashes[i] = random_bytes(gen_, 32);
      sig_len[i] = static_cast<word32>(sigs[i].size());
      auto call = [&, i] {
        return wc_ecc_sign_hash(hashes[i].data(), 32, sigs[i].data(), &sig_len[i], &rng_, &keys[i]);
      };
      jobs[i] = Job{&keys[i].asyncDev, call, call, [&, i](int ret) {
                      ASSERT_EQ(ret, 0) << "hash " << i;
                      int ok = 0;
                      ASSERT_EQ(wc_ecc_verify_hash(sigs[i].data(), sig_len[i], hashes[i].data(), 32,
                                                   &ok, &verify[i]),
                                0);
                      EXPECT_EQ(ok, 1) << "hash " << i;
                    }};
    }
    pended += run_batch(queue_, jobs).pended;
  }
  if (public_key_pends()) {
    EXPECT_GE(pended, kObjects * kRounds);
  }
  for (int i = 0; i < kObjects; ++i) {
    wc_ecc_free(&keys[i]);
    wc_ecc_free(&verify[i]);
  }
}

TEST_P(Differential, EcdhSharedSecret) {
  std::vector<ecc_key> keys(kObjects), sync_keys(kObjects), peers(kObjects), peer_sync(kObjects);
  for (int i = 0; i < kObjects; ++i) {
    make_ecc_pair(dev_id(), &rng_, &keys[i], &sync_keys[i]);
    wc_ecc_set_rng(&keys[i], &rng_);  // timing resistance: shared by all, on purpose
    wc_ecc_set_rng(&sync_keys[i], &rng_);
    make_ecc_pair(dev_id(), &rng_, &peers[i], &peer_sync[i]);
  }
  std::vector<Bytes> secrets(kObjects, Bytes(32));
  std::vector<word32> lens(kObjects, 32);
  std::vector<Job> jobs(kObjects);
  for (int i = 0; i < kObjects; ++i) {
    auto call = [&, i] {
      return wc_ecc_shared_secret(&keys[i], &peer_sync[i], secrets[i].data(), &lens[i]);
    };
    jobs[i] =
        Job{&keys[i].asyncDev, call, call, [&, i](int ret) {
              ASSERT_EQ(ret, 0) << "pair " << i;
              Bytes expect(32);
              word32 len = 32;
              ASSERT_EQ(wc_ecc_shared_secret(&sync_keys[i], &peer_sync[i], expect.data(), &len), 0);
              EXPECT_EQ(lens[i], len);
              EXPECT_EQ(secrets[i], expect) << "pair " << i;
            }};
  }
  const int pended_now = run_batch(queue_, jobs).pended;
  if (public_key_pends()) {
    EXPECT_GE(pended_now, kObjects);
  }
  for (int i = 0; i < kObjects; ++i) {
    wc_ecc_free(&keys[i]);
    wc_ecc_free(&sync_keys[i]);
    wc_ecc_free(&peers[i]);
    wc_ecc_free(&peer_sync[i]);
  }
}

TEST_P(Differential, Dh2048KeyPairAndAgree) {
  constexpr int kPairs = 8;
  const DhParams* params = wc_Dh_ffdhe2048_Get();
  ASSERT_NE(params, nullptr);
  auto init = [&](DhKey* key, int dev_id) {
    ASSERT_EQ(wc_InitDhKey_ex(key, nullptr, dev_id), 0);
    ASSERT_EQ(wc_DhSetKey(key, params->p, params->p_len, params->g, params->g_len), 0);
  };
  std::vector<DhKey> keys(kPairs), peers(kPairs);
  for (int i = 0; i < kPairs; ++i) {
    init(&keys[i], dev_id());
    init(&peers[i], INVALID_DEVID);
  }
  std::vector<Bytes> priv(kPairs, Bytes(256)), pub(kPairs, Bytes(256));
  std::vector<Bytes> peer_priv(kPairs, Bytes(256)), peer_pub(kPairs, Bytes(256));
  std::vector<word32> priv_len(kPairs, 256), pub_len(kPairs, 256);
  std::vector<word32> peer_priv_len(kPairs, 256), peer_pub_len(kPairs, 256);
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_EQ(wc_DhGenerateKeyPair(&peers[i], &rng_, peer_priv[i].data(), &peer_priv_len[i],
                                   peer_pub[i].data(), &peer_pub_len[i]),
              0);
  }
  // Key pairs on the device, all sharing one RNG.
  std::vector<Job> jobs(kPairs);
  for (int i = 0; i < kPairs; ++i) {
    auto call = [&, i] {
      return wc_DhGenerateKeyPair(&keys[i], &rng_, priv[i].data(), &priv_len[i], pub[i].data(),
                                  &pub_len[i]);
    };
    jobs[i] =
        Job{&keys[i].asyncDev, call, nullptr, [&, i](int ret) {
              ASSERT_EQ(ret, 0) << "pair " << i;
              EXPECT_EQ(wc_DhCheckPubValue(params->p, params->p_len, pub[i].data(), pub_len[i]), 0);
            }};
  }
  const int pended_now = run_batch(queue_, jobs).pended;
  if (public_key_pends()) {
    EXPECT_GE(pended_now, kPairs);
  }
  // Agreement on the device against the peer's synchronous agreement.
  std::vector<Bytes> agree(kPairs, Bytes(256));
  std::vector<word32> agree_len(kPairs, 256);
  for (int i = 0; i < kPairs; ++i) {
    auto call = [&, i] {
      return wc_DhAgree(&keys[i], agree[i].data(), &agree_len[i], priv[i].data(), priv_len[i],
                        peer_pub[i].data(), peer_pub_len[i]);
    };
    jobs[i] = Job{&keys[i].asyncDev, call, nullptr, [&, i](int ret) {
                    ASSERT_EQ(ret, 0) << "pair " << i;
                    Bytes expect(256);
                    word32 len = 256;
                    ASSERT_EQ(wc_DhAgree(&peers[i], expect.data(), &len, peer_priv[i].data(),
                                         peer_priv_len[i], pub[i].data(), pub_len[i]),
                              0);
                    ASSERT_EQ(agree_len[i], len);
                    expect.resize(len);
                    agree[i].resize(agree_len[i]);
                    EXPECT_EQ(agree[i], expect) << "pair " << i;
                  }};
  }
  const int pended_agree = run_batch(queue_, jobs).pended;
  if (public_key_pends()) {
    EXPECT_GE(pended_agree, kPairs);
  }
  for (int i = 0; i < kPairs; ++i) {
    wc_FreeDhKey(&keys[i]);
    wc_FreeDhKey(&peers[i]);
  }
}

TEST_P(Differential, AesCbc) {
  std::vector<Aes> enc(kObjects), dec(kObjects);
  int pended = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Bytes> keys(kObjects), ivs(kObjects), plain(kObjects), ct(kObjects), back(kObjects);
    std::vector<Job> jobs;
    for (int i = 0; i < kObjects; ++i) {
      keys[i] = random_bytes(gen_, 16u << (gen_() % 2));  // AES-128 or AES-256
      ivs[i] = random_bytes(gen_, 16);
      plain[i] = random_bytes(gen_, WC_ASYNC_THRESH_AES_CBC + 16 * (gen_() % 64));
      ASSERT_NO_FATAL_FAILURE(init_aes_cbc(&enc[i], dev_id(), keys[i], ivs[i], AES_ENCRYPTION));
      jobs.push_back(cbc_job(&enc[i], AES_ENCRYPTION, plain[i], &ct[i], [&, i](int ret) {
        ASSERT_EQ(ret, 0);
        EXPECT_EQ(ct[i], sync_cbc_encrypt(keys[i], ivs[i], plain[i])) << "buffer " << i;
      }));
    }
    pended += run_batch(queue_, jobs).pended;
    jobs.clear();
    for (int i = 0; i < kObjects; ++i) {
      ASSERT_NO_FATAL_FAILURE(init_aes_cbc(&dec[i], dev_id(), keys[i], ivs[i], AES_DECRYPTION));
      jobs.push_back(cbc_job(&dec[i], AES_DECRYPTION, ct[i], &back[i], [&, i](int ret) {
        ASSERT_EQ(ret, 0);
        EXPECT_EQ(back[i], plain[i]) << "buffer " << i;
      }));
    }
    pended += run_batch(queue_, jobs).pended;
    for (int i = 0; i < kObjects; ++i) {
      wc_AesFree(&enc[i]);
      wc_AesFree(&dec[i]);
    }
  }
  if (aes_pends()) {
    EXPECT_EQ(pended, 2 * kObjects * kRounds);
  }
}

TEST_P(Differential, AesGcm) {
  std::vector<Aes> aes(kObjects);
  int pended = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Bytes> keys(kObjects), ivs(kObjects), aad(kObjects), plain(kObjects);
    std::vector<Bytes> ct(kObjects), tag(kObjects, Bytes(16)), back(kObjects);
    std::vector<Job> jobs;
    for (int i = 0; i < kObjects; ++i) {
      keys[i] = random_bytes(gen_, 16u + 8u * (gen_() % 3));
      ivs[i] = random_bytes(gen_, 12);
      aad[i] = random_bytes(gen_, gen_() % 40);
      plain[i] = random_bytes(gen_, WC_ASYNC_THRESH_AES_GCM + gen_() % 2000);
      ct[i].resize(plain[i].size());
      ASSERT_EQ(wc_AesInit(&aes[i], nullptr, dev_id()), 0);
      ASSERT_EQ(wc_AesGcmSetKey(&aes[i], keys[i].data(), static_cast<word32>(keys[i].size())), 0);
      jobs.push_back(
          Job{&aes[i].asyncDev,
              [&, i] {
                return wc_AesGcmEncrypt(&aes[i], ct[i].data(), plain[i].data(),
                                        static_cast<word32>(plain[i].size()), ivs[i].data(), 12,
                                        tag[i].data(), 16, aad[i].data(),
                                        static_cast<word32>(aad[i].size()));
              },
              nullptr,
              [&, i](int ret) {
                ASSERT_EQ(ret, 0);
                Bytes expect_tag;
                EXPECT_EQ(ct[i], sync_gcm_encrypt(keys[i], ivs[i], plain[i], aad[i], &expect_tag))
                    << "buffer " << i;
                EXPECT_EQ(tag[i], expect_tag) << "buffer " << i;
              }});
    }
    pended += run_batch(queue_, jobs).pended;
    // Decrypt; every other one with a corrupted tag, which must fail.
    jobs.clear();
    for (int i = 0; i < kObjects; ++i) {
      back[i].resize(ct[i].size());
      if (i % 2 == 1) tag[i][gen_() % 16] ^= static_cast<std::uint8_t>(1 + gen_() % 255);
      jobs.push_back(Job{&aes[i].asyncDev,
                         [&, i] {
                           return wc_AesGcmDecrypt(&aes[i], back[i].data(), ct[i].data(),
                                                   static_cast<word32>(ct[i].size()), ivs[i].data(),
                                                   12, tag[i].data(), 16, aad[i].data(),
                                                   static_cast<word32>(aad[i].size()));
                         },
                         nullptr,
                         [&, i](int ret) {
                           if (i % 2 == 1) {
                             EXPECT_EQ(ret, AES_GCM_AUTH_E) << "buffer " << i;
                           } else {
                             ASSERT_EQ(ret, 0) << "buffer " << i;
                             EXPECT_EQ(back[i], plain[i]) << "buffer " << i;
                           }
                         }});
    }
    pended += run_batch(queue_, jobs).pended;
    for (auto& a : aes) wc_AesFree(&a);
  }
  if (aes_pends()) {
    EXPECT_EQ(pended, 2 * kObjects * kRounds);
  }
}

TEST_P(Differential, Des3Cbc) {
#ifdef NO_DES3
  GTEST_SKIP() << "wolfSSL was built without 3DES";
#else
  std::vector<Des3> enc(kObjects);
  std::vector<Bytes> keys(kObjects), ivs(kObjects), plain(kObjects), ct(kObjects);
  std::vector<Job> jobs;
  for (int i = 0; i < kObjects; ++i) {
    keys[i] = random_bytes(gen_, 24);
    ivs[i] = random_bytes(gen_, 8);
    plain[i] = random_bytes(gen_, WC_ASYNC_THRESH_DES3_CBC + 8 * (gen_() % 64));
    ct[i].resize(plain[i].size());
    ASSERT_EQ(wc_Des3Init(&enc[i], nullptr, dev_id()), 0);
    ASSERT_EQ(wc_Des3_SetKey(&enc[i], keys[i].data(), ivs[i].data(), DES_ENCRYPTION), 0);
    jobs.push_back(
        Job{&enc[i].asyncDev,
            [&, i] {
              return wc_Des3_CbcEncrypt(&enc[i], ct[i].data(), plain[i].data(),
                                        static_cast<word32>(plain[i].size()));
            },
            nullptr,
            [&, i](int ret) {
              ASSERT_EQ(ret, 0);
              Des3 sync;
              ASSERT_EQ(wc_Des3Init(&sync, nullptr, INVALID_DEVID), 0);
              ASSERT_EQ(wc_Des3_SetKey(&sync, keys[i].data(), ivs[i].data(), DES_ENCRYPTION), 0);
              Bytes expect(plain[i].size());
              ASSERT_EQ(wc_Des3_CbcEncrypt(&sync, expect.data(), plain[i].data(),
                                           static_cast<word32>(plain[i].size())),
                        0);
              EXPECT_EQ(ct[i], expect);
              wc_Des3Free(&sync);
            }});
  }
  const int pended_now = run_batch(queue_, jobs).pended;
  if (public_key_pends()) {  // dpdk declines 3DES too
    EXPECT_EQ(pended_now, kObjects);
  }
  for (auto& d : enc) wc_Des3Free(&d);
#endif
}

INSTANTIATE_TEST_SUITE_P(Devices, Differential, ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

}  // namespace
