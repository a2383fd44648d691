// Test helpers: wolfCrypt operations as batch jobs (support/batch.h) and their synchronous
// references: RSA signatures, AES-CBC, AES-GCM, ECC key pairs on a device and off it.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifndef USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_2048
#endif
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>

#include <functional>
#include <utility>

#include "support/batch.h"
#include "support/test_random.h"

namespace testing_support {

inline void load_rsa(RsaKey* key, int dev_id) {
  ASSERT_EQ(wc_InitRsaKey_ex(key, nullptr, dev_id), 0);
  word32 idx = 0;
  ASSERT_EQ(wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, key, sizeof_client_key_der_2048), 0);
}

// A job that signs `msg` with *key into *sig and, once it completes, calls
// on_done (when set: it counts completions, checked or not) and checks the
// signature against sync_key's (PKCS#1 v1.5 signatures are deterministic).
inline Job rsa_sign_job(RsaKey* key, RsaKey* sync_key, WC_RNG* rng, const Bytes& msg, Bytes* sig,
                        std::function<void()> on_done = nullptr) {
  sig->assign(256, 0);
  auto call = [=, &msg] {
    return wc_RsaSSL_Sign(msg.data(), static_cast<word32>(msg.size()), sig->data(),
                          static_cast<word32>(sig->size()), key, rng);
  };
  return Job{&key->asyncDev, call, call, [=, &msg, on_done = std::move(on_done)](int ret) {
               if (on_done) on_done();
               ASSERT_EQ(ret, 256);
               Bytes expect(256);
               ASSERT_EQ(wc_RsaSSL_Sign(msg.data(), static_cast<word32>(msg.size()), expect.data(),
                                        256, sync_key, rng),
                         256);
               EXPECT_EQ(*sig, expect);
             }};
}

// Binds *aes to dev_id with an AES-CBC key and IV for `dir` (AES_ENCRYPTION
// or AES_DECRYPTION).
inline void init_aes_cbc(Aes* aes, int dev_id, const Bytes& key, const Bytes& iv, int dir) {
  ASSERT_EQ(wc_AesInit(aes, nullptr, dev_id), 0);
  ASSERT_EQ(wc_AesSetKey(aes, key.data(), static_cast<word32>(key.size()), iv.data(), dir), 0);
}

// The AES-CBC encryption of `plain`, done without a device.
inline Bytes sync_cbc_encrypt(const Bytes& key, const Bytes& iv, const Bytes& plain) {
  Aes sync;
  Bytes out(plain.size());
  init_aes_cbc(&sync, INVALID_DEVID, key, iv, AES_ENCRYPTION);
  EXPECT_EQ(wc_AesCbcEncrypt(&sync, out.data(), plain.data(), static_cast<word32>(plain.size())),
            0);
  wc_AesFree(&sync);
  return out;
}

// A job that runs AES-CBC in the direction *aes was keyed for, from `in`
// into *out (sized to match), and hands the result to `finish`.
inline Job cbc_job(Aes* aes, int dir, const Bytes& in, Bytes* out,
                   std::function<void(int)> finish) {
  out->resize(in.size());
  return Job{&aes->asyncDev,
             [aes, dir, &in, out] {
               const auto sz = static_cast<word32>(in.size());
               return dir == AES_ENCRYPTION ? wc_AesCbcEncrypt(aes, out->data(), in.data(), sz)
                                            : wc_AesCbcDecrypt(aes, out->data(), in.data(), sz);
             },
             nullptr, std::move(finish)};
}

// The AES-GCM encryption of `plain` (12-byte IV, 16-byte tag into *tag),
// done without a device.
inline Bytes sync_gcm_encrypt(const Bytes& key, const Bytes& iv, const Bytes& plain,
                              const Bytes& aad, Bytes* tag) {
  Aes sync;
  Bytes out(plain.size());
  tag->assign(16, 0);
  EXPECT_EQ(wc_AesInit(&sync, nullptr, INVALID_DEVID), 0);
  EXPECT_EQ(wc_AesGcmSetKey(&sync, key.data(), static_cast<word32>(key.size())), 0);
  EXPECT_EQ(wc_AesGcmEncrypt(&sync, out.data(), plain.data(), static_cast<word32>(plain.size()),
                             iv.data(), 12, tag->data(), 16, aad.empty() ? nullptr : aad.data(),
                             static_cast<word32>(aad.size())),
            0);
  wc_AesFree(&sync);
  return out;
}

// Makes a P-256 key on the device (through a sleeping wait), then copies it
// into `sync_key`, bound to no device.
inline void make_ecc_pair(int dev_id, WC_RNG* rng, ecc_key* async_key, ecc_key* sync_key) {
  ASSERT_EQ(wc_ecc_init_ex(async_key, nullptr, dev_id), 0);
  int ret = wc_ecc_make_key_ex(rng, 32, async_key, ECC_SECP256R1);
  ret = wc_AsyncWait(ret, &async_key->asyncDev, WC_ASYNC_FLAG_NONE);
  ASSERT_EQ(ret, 0);
  byte priv[32];
  byte pub[65];
  word32 priv_len = sizeof priv;
  word32 pub_len = sizeof pub;
  ASSERT_EQ(wc_ecc_export_private_only(async_key, priv, &priv_len), 0);
  ASSERT_EQ(wc_ecc_export_x963(async_key, pub, &pub_len), 0);
  ASSERT_EQ(wc_ecc_init_ex(sync_key, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_ecc_import_private_key_ex(priv, priv_len, pub, pub_len, sync_key, ECC_SECP256R1), 0);
}

}  // namespace testing_support
