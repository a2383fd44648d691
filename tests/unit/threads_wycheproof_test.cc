// Wycheproof known answers (AES-GCM, ECDH P-256) through the threads device, with queue
// polling.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include "asynccrypt/device.h"
#include "asynccrypt/queue.h"
#include "support/batch.h"
#include "support/device_open.h"
#include "support/record_aes.h"
#include "support/test_queue.h"
#include "support/test_random.h"
#include "support/vectors.h"

namespace {

using testing_support::BatchStats;
using testing_support::Bytes;
using testing_support::Job;
using testing_support::kThreadsSpec;
using testing_support::new_queue;
using testing_support::open_pending_device;
using testing_support::record_aes;
using testing_support::run_batch;

// ---------------------------------------------------------------------------
// Wycheproof known answers, through the device with queue polling
// ---------------------------------------------------------------------------

testing_support::Json load_vectors(const char* name) {
  testing_support::Json doc;
  std::string error;
  const std::string path = std::string(ASYNCCRYPT_TESTDATA_DIR) + "/wycheproof/" + name;
  EXPECT_TRUE(testing_support::read_json_file(path, &doc, &error)) << error;
  return doc;
}

using testing_support::hex_field;

TEST(ThreadsWycheproof, AesGcm) {
  asynccrypt::DeviceHandle dev = open_pending_device(kThreadsSpec);
  ASSERT_TRUE(dev.is_open());
  const testing_support::Json doc = load_vectors("aes_gcm_test.json");
  asynccrypt::EventQueue queue = new_queue();
  int cases = 0;
  int natural = 0;  // pended by wolfCrypt itself (large enough)
  for (const auto& group : doc.at("testGroups")) {
    if (group.at("ivSize").get<long>() != 96) continue;
    const auto& tests = group.at("tests");
    // Each case gets its own Aes, and all cases of a group are in flight at once.
    const std::size_t n = tests.size();
    std::vector<Aes> enc(n), dec(n);
    std::vector<Bytes> key(n), iv(n), aad(n), msg(n), ct(n), tag(n), out_ct(n), out_tag(n),
        out_msg(n);
    std::vector<bool> valid(n);
    std::vector<Job> jobs;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& t = tests[i];
      key[i] = hex_field(t.at("key"));
      iv[i] = hex_field(t.at("iv"));
      aad[i] = hex_field(t.at("aad"));
      msg[i] = hex_field(t.at("msg"));
      ct[i] = hex_field(t.at("ct"));
      tag[i] = hex_field(t.at("tag"));
      valid[i] = t.at("result").get<std::string>() == "valid";
      // Never hand wolfCrypt a NULL buffer, even when empty.
      for (Bytes* b : {&aad[i], &msg[i], &ct[i]}) b->reserve(1);
      out_ct[i].resize(msg[i].size() + 1);
      out_msg[i].resize(ct[i].size() + 1);
      out_tag[i].resize(tag[i].size());
      ASSERT_EQ(wc_AesInit(&enc[i], nullptr, dev.id()), 0);
      ASSERT_EQ(wc_AesInit(&dec[i], nullptr, dev.id()), 0);
      ASSERT_EQ(wc_AesGcmSetKey(&enc[i], key[i].data(), static_cast<word32>(key[i].size())), 0);
      ASSERT_EQ(wc_AesGcmSetKey(&dec[i], key[i].data(), static_cast<word32>(key[i].size())), 0);
      const int tc = static_cast<int>(t.at("tcId").get<long>());
      const auto sz = [](const Bytes& b) { return static_cast<word32>(b.size()); };
      if (valid[i]) {
        jobs.push_back(Job{&enc[i].asyncDev,
                           [&, i, sz] {
                             int ret = wc_AesGcmEncrypt(
                                 &enc[i], out_ct[i].data(), msg[i].data(), sz(msg[i]), iv[i].data(),
                                 12, out_tag[i].data(), sz(tag[i]), aad[i].data(), sz(aad[i]));
                             if (ret == WC_PENDING_E) {
                               ++natural;
                               return ret;
                             }
                             return record_aes(&enc[i], ASYNC_SW_AES_GCM_ENCRYPT, out_ct[i].data(),
                                               msg[i].data(), sz(msg[i]), iv[i].data(), 12,
                                               out_tag[i].data(), sz(tag[i]), aad[i].data(),
                                               sz(aad[i]));
                           },
                           nullptr,
                           [&, i, tc](int ret) {
                             ++cases;
                             ASSERT_EQ(ret, 0) << "tcId " << tc;
                             out_ct[i].resize(msg[i].size());
                             EXPECT_EQ(out_ct[i], ct[i]) << "tcId " << tc;
                             EXPECT_EQ(out_tag[i], tag[i]) << "tcId " << tc;
                           }});
      }
      // Could the natural path have recorded it, the wolfCrypt call would
      // have pended; below the threshold it runs synchronously, so record it.
      jobs.push_back(Job{&dec[i].asyncDev,
                         [&, i, sz] {
                           int ret = wc_AesGcmDecrypt(&dec[i], out_msg[i].data(), ct[i].data(),
                                                      sz(ct[i]), iv[i].data(), 12, tag[i].data(),
                                                      sz(tag[i]), aad[i].data(), sz(aad[i]));
                           if (ret == WC_PENDING_E) {
                             ++natural;
                             return ret;
                           }
                           return record_aes(&dec[i], ASYNC_SW_AES_GCM_DECRYPT, out_msg[i].data(),
                                             ct[i].data(), sz(ct[i]), iv[i].data(), 12,
                                             tag[i].data(), sz(tag[i]), aad[i].data(), sz(aad[i]));
                         },
                         nullptr,
                         [&, i, tc](int ret) {
                           ++cases;
                           if (valid[i]) {
                             ASSERT_EQ(ret, 0) << "tcId " << tc;
                             out_msg[i].resize(msg[i].size());
                             EXPECT_EQ(out_msg[i], msg[i]) << "tcId " << tc;
                           } else {
                             EXPECT_EQ(ret, AES_GCM_AUTH_E) << "tcId " << tc;
                           }
                         }});
    }
    const BatchStats stats = run_batch(queue, jobs);
    EXPECT_EQ(stats.pended, static_cast<int>(jobs.size()));
    for (std::size_t i = 0; i < n; ++i) {
      wc_AesFree(&enc[i]);
      wc_AesFree(&dec[i]);
    }
  }
  // 197 cases with 12-byte IVs: each decrypted, the valid ones encrypted too.
  EXPECT_GE(cases, 197);
  EXPECT_GT(natural, 0) << "some vectors are long enough for wolfCrypt to pend by itself";
  std::printf("%d AES-GCM checks, %d pended by wolfCrypt itself\n", cases, natural);
}

TEST(ThreadsWycheproof, EcdhP256) {
  asynccrypt::DeviceHandle dev = open_pending_device(kThreadsSpec);
  ASSERT_TRUE(dev.is_open());
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  const testing_support::Json doc = load_vectors("ecdh_secp256r1_test.json");
  asynccrypt::EventQueue queue = new_queue();
  int checked = 0;
  int undecodable = 0;
  for (const auto& group : doc.at("testGroups")) {
    ASSERT_EQ(group.at("curve").get<std::string>(), "secp256r1");
    std::vector<const testing_support::Json*> tests;
    for (const auto& t : group.at("tests")) {
      if (t.at("result").get<std::string>() == "valid") tests.push_back(&t);
    }
    const std::size_t n = tests.size();
    std::vector<ecc_key> priv(n), pub(n);
    std::vector<Bytes> shared(n), out(n, Bytes(32));
    std::vector<word32> out_len(n, 32);
    std::vector<bool> used(n, false);
    std::vector<Job> jobs;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& t = *tests[i];
      const int tc = static_cast<int>(t.at("tcId").get<long>());
      Bytes priv_bytes = hex_field(t.at("private"));
      const Bytes pub_der = hex_field(t.at("public"));
      shared[i] = hex_field(t.at("shared"));
      ASSERT_EQ(wc_ecc_init_ex(&pub[i], nullptr, INVALID_DEVID), 0);
      ASSERT_EQ(wc_ecc_init_ex(&priv[i], nullptr, dev.id()), 0);
      used[i] = true;
      word32 idx = 0;
      if (wc_EccPublicKeyDecode(pub_der.data(), &idx, &pub[i],
                                static_cast<word32>(pub_der.size())) != 0) {
        ++undecodable;  // wolfSSL's ASN.1 parser is stricter than Wycheproof's "valid"
        std::printf("tcId %d: wolfSSL cannot decode the public key (%s)\n", tc,
                    t.at("comment").get<std::string>().c_str());
        continue;
      }
      // Wycheproof writes some scalars with a leading zero byte.
      while (priv_bytes.size() > 32 && priv_bytes[0] == 0) priv_bytes.erase(priv_bytes.begin());
      ASSERT_EQ(
          wc_ecc_import_private_key_ex(priv_bytes.data(), static_cast<word32>(priv_bytes.size()),
                                       nullptr, 0, &priv[i], ECC_SECP256R1),
          0)
          << "tcId " << tc;
      wc_ecc_set_rng(&priv[i], &rng);
      auto call = [&, i] {
        return wc_ecc_shared_secret(&priv[i], &pub[i], out[i].data(), &out_len[i]);
      };
      jobs.push_back(Job{&priv[i].asyncDev, call, call, [&, i, tc](int ret) {
                           ++checked;
                           ASSERT_EQ(ret, 0) << "tcId " << tc;
                           out[i].resize(out_len[i]);
                           EXPECT_EQ(out[i], shared[i]) << "tcId " << tc;
                         }});
    }
    const BatchStats stats = run_batch(queue, jobs);
    EXPECT_EQ(stats.pended, static_cast<int>(jobs.size()));
    for (std::size_t i = 0; i < n; ++i) {
      if (!used[i]) continue;
      wc_ecc_free(&priv[i]);
      wc_ecc_free(&pub[i]);
    }
  }
  wc_FreeRng(&rng);
  std::printf("%d ECDH cases checked, %d public keys not decodable by wolfSSL\n", checked,
              undecodable);
  EXPECT_GE(checked, 300);
  EXPECT_EQ(checked + undecodable, 330);
}

}  // namespace
