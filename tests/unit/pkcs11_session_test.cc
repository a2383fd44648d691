// Tests of the PKCS#11 session (src/backends/pkcs11/p11_session.cc) on a SoftHSM2 token:
// differential against wolfCrypt's software keys, concurrent sessions, missing keys,
// lost sessions and their recovery.
#include <gtest/gtest.h>

#include <barrier>
#include <random>
#include <thread>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>

#include "backends/pkcs11/ecdsa_der.h"
#include "backends/pkcs11/p11_errors.h"
#include "support/pkcs11_fixture.h"
#include "support/test_random.h"

namespace {

using asynccrypt::Status;
using asynccrypt::p11::Hash;
using asynccrypt::p11::KeyRef;
using asynccrypt::p11::RawUse;
using asynccrypt::p11::Session;
using testing_support::Bytes;
using testing_support::p256_key_id;
using testing_support::p384_key_id;
using testing_support::random_bytes;
using testing_support::rsa_key_id;
using testing_support::rsa_key_label;
using testing_support::test_seed;

// The software twin of the token's RSA key, from certs_test.h.
class SoftRsa {
 public:
  SoftRsa() {
    wc_InitRng(&rng_);
    wc_InitRsaKey(&key_, nullptr);
    word32 idx = 0;
    ok_ = wc_RsaPrivateKeyDecode(server_key_der_2048, &idx, &key_, sizeof_server_key_der_2048) == 0;
    wc_RsaSetRNG(&key_, &rng_);
  }
  ~SoftRsa() {
    wc_FreeRsaKey(&key_);
    wc_FreeRng(&rng_);
  }
  bool ok() const { return ok_; }
  RsaKey* key() { return &key_; }
  WC_RNG* rng() { return &rng_; }

  // The PKCS#1 v1.5 signature of a DigestInfo.
  Bytes sign_pkcs1(const Bytes& digest_info) {
    Bytes sig(256);
    int n = wc_RsaSSL_Sign(digest_info.data(), digest_info.size(), sig.data(), sig.size(), &key_,
                           &rng_);
    sig.resize(n > 0 ? n : 0);
    return sig;
  }

 private:
  WC_RNG rng_;
  RsaKey key_;
  bool ok_ = false;
};

// A DigestInfo for SHA-256 of `hash` (what TLS 1.2 signs with RSA).
Bytes digest_info_sha256(const Bytes& hash) {
  Bytes out(MAX_ENCODED_SIG_SZ);
  word32 n =
      wc_EncodeSignature(out.data(), hash.data(), hash.size(), wc_HashGetOID(WC_HASH_TYPE_SHA256));
  out.resize(n);
  return out;
}

// Verifies a DER ECDSA signature with the software key from `der`.
bool ecc_verifies(const unsigned char* der, word32 der_len, const Bytes& hash, const Bytes& sig) {
  ecc_key key;
  wc_ecc_init(&key);
  word32 idx = 0;
  int verified = 0;
  bool ok =
      wc_EccPrivateKeyDecode(der, &idx, &key, der_len) == 0 &&
      wc_ecc_verify_hash(sig.data(), sig.size(), hash.data(), hash.size(), &verified, &key) == 0 &&
      verified == 1;
  wc_ecc_free(&key);
  return ok;
}

class Pkcs11SessionTest : public testing_support::TokenTest {};

TEST_F(Pkcs11SessionTest, RsaPkcs1IsByteIdenticalToSoftware) {
  std::mt19937 gen(test_seed());
  SoftRsa soft;
  ASSERT_TRUE(soft.ok());
  Session session(token_);
  for (const KeyRef& key : {rsa_key_id(), rsa_key_label()}) {
    for (int i = 0; i < 8; ++i) {
      const Bytes info = digest_info_sha256(random_bytes(gen, 32));
      Bytes sig(256);
      std::size_t len = sig.size();
      ASSERT_TRUE(session.sign_rsa_pkcs1(key, info.data(), info.size(), sig.data(), &len).is_ok());
      sig.resize(len);
      EXPECT_EQ(sig, soft.sign_pkcs1(info)) << key.describe();
    }
  }
  // One lookup per key reference, then the cached handles.
  EXPECT_EQ(session.cached_keys(), 2u);
  EXPECT_EQ(session.opens(), 1);
}

TEST_F(Pkcs11SessionTest, RsaPssVerifiesWithSoftwareKey) {
  std::mt19937 gen(test_seed());
  SoftRsa soft;
  ASSERT_TRUE(soft.ok());
  Session session(token_);
  struct Case {
    Hash hash;
    enum wc_HashType type;
    int mgf;
    std::size_t len;
  };
  for (const Case& c : {Case{Hash::kSha256, WC_HASH_TYPE_SHA256, WC_MGF1SHA256, 32},
                        Case{Hash::kSha384, WC_HASH_TYPE_SHA384, WC_MGF1SHA384, 48},
                        Case{Hash::kSha512, WC_HASH_TYPE_SHA512, WC_MGF1SHA512, 64}}) {
    const Bytes hash = random_bytes(gen, c.len);
    Bytes sig(256);
    std::size_t len = sig.size();
    // TLS 1.3 uses a salt as long as the hash.
    Status s = session.sign_rsa_pss(rsa_key_id(), c.hash, c.len, hash.data(), hash.size(),
                                    sig.data(), &len);
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(len, 256u);
    Bytes out(256);
    int n = wc_RsaPSS_VerifyCheck(sig.data(), len, out.data(), out.size(), hash.data(), hash.size(),
                                  c.type, c.mgf, soft.key());
    EXPECT_GT(n, 0) << "hash length " << c.len << ": " << n;
  }
}

TEST_F(Pkcs11SessionTest, RawRsaMatchesSoftwarePrivateOperation) {
  std::mt19937 gen(test_seed());
  SoftRsa soft;
  ASSERT_TRUE(soft.ok());
  Session session(token_);
  for (RawUse use : {RawUse::kSign, RawUse::kDecrypt}) {
    Bytes in = random_bytes(gen, 256);
    in[0] = 0;  // below the modulus
    Bytes expected(256);
    word32 expected_len = expected.size();
    ASSERT_EQ(wc_RsaFunction(in.data(), in.size(), expected.data(), &expected_len,
                             RSA_PRIVATE_DECRYPT, soft.key(), soft.rng()),
              0);
    Bytes out(256);
    std::size_t len = out.size();
    Status s = session.rsa_private_raw(rsa_key_id(), use, in.data(), in.size(), out.data(), &len);
    ASSERT_TRUE(s.is_ok()) << s.message();
    out.resize(len);
    // Leading zero bytes: PKCS#11 returns the modulus's length either way.
    expected.resize(expected_len);
    Bytes padded(256 - expected.size(), 0);
    padded.insert(padded.end(), expected.begin(), expected.end());
    EXPECT_EQ(out, padded) << (use == RawUse::kSign ? "C_Sign" : "C_Decrypt");
  }
}

TEST_F(Pkcs11SessionTest, RsaPublicKeyMatchesSoftwareKey) {
  SoftRsa soft;
  ASSERT_TRUE(soft.ok());
  Session session(token_);
  auto pub = session.rsa_public(rsa_key_id());
  ASSERT_TRUE(pub.is_ok()) << pub.status().message();
  Bytes n(256), e(8);
  word32 n_len = n.size(), e_len = e.size();
  ASSERT_EQ(wc_RsaFlattenPublicKey(soft.key(), e.data(), &e_len, n.data(), &n_len), 0);
  n.resize(n_len);
  e.resize(e_len);
  EXPECT_EQ(pub.value().modulus, n);
  EXPECT_EQ(pub.value().exponent, e);
}

TEST_F(Pkcs11SessionTest, EcdsaP256AndP384VerifyWithSoftwareKeys) {
  std::mt19937 gen(test_seed());
  Session session(token_);
  struct Case {
    KeyRef key;
    const unsigned char* der;
    word32 der_len;
    std::size_t hash_len;
  };
  const Case cases[] = {
      {p256_key_id(), ecc_key_der_256, sizeof_ecc_key_der_256, 32},
      {p384_key_id(), ca_ecc_key_der_384, sizeof_ca_ecc_key_der_384, 48},
      // TLS 1.2 may pair a P-256 key with SHA-384 (the token truncates).
      {p256_key_id(), ecc_key_der_256, sizeof_ecc_key_der_256, 48},
  };
  for (const Case& c : cases) {
    for (int i = 0; i < 8; ++i) {
      const Bytes hash = random_bytes(gen, c.hash_len);
      Bytes sig(asynccrypt::p11::kMaxEcdsaDer);
      std::size_t len = sig.size();
      Status s = session.sign_ecdsa(c.key, hash.data(), hash.size(), sig.data(), &len);
      ASSERT_TRUE(s.is_ok()) << s.message();
      sig.resize(len);
      EXPECT_TRUE(ecc_verifies(c.der, c.der_len, hash, sig)) << c.key.describe();
    }
  }
  // The curve's OID: 1.2.840.10045.3.1.7 (P-256) and 1.3.132.0.34 (P-384).
  auto p256 = session.ec_params(p256_key_id());
  ASSERT_TRUE(p256.is_ok());
  EXPECT_EQ(p256.value(), (Bytes{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}));
  auto p384 = session.ec_params(p384_key_id());
  ASSERT_TRUE(p384.is_ok());
  EXPECT_EQ(p384.value(), (Bytes{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}));
}

TEST_F(Pkcs11SessionTest, ThreadsSignAtOnceWithASessionEach) {
  const std::uint32_t seed = test_seed();
  SoftRsa soft;
  ASSERT_TRUE(soft.ok());
  constexpr int kThreads = 4;
  constexpr int kSigns = 25;
  // Inputs and expected signatures are computed here: wolfCrypt's key is
  // not shared with the threads.
  std::vector<std::vector<Bytes>> inputs(kThreads), expected(kThreads);
  std::mt19937 gen(seed);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kSigns; ++i) {
      inputs[t].push_back(digest_info_sha256(random_bytes(gen, 32)));
      expected[t].push_back(soft.sign_pkcs1(inputs[t].back()));
    }
  }
  std::vector<std::vector<Bytes>> got(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Session session(token_);
      for (int i = 0; i < kSigns; ++i) {
        Bytes sig(256);
        std::size_t len = sig.size();
        // Alternate with ECDSA so that different mechanisms interleave.
        Bytes hash(32, static_cast<unsigned char>(i));
        Bytes ecc(asynccrypt::p11::kMaxEcdsaDer);
        std::size_t ecc_len = ecc.size();
        Status s = session.sign_rsa_pkcs1(rsa_key_id(), inputs[t][i].data(), inputs[t][i].size(),
                                          sig.data(), &len);
        if (s.is_ok()) s = session.sign_ecdsa(p256_key_id(), hash.data(), 32, ecc.data(), &ecc_len);
        if (!s.is_ok()) {
          errors[t] = s.message();
          return;
        }
        sig.resize(len);
        got[t].push_back(sig);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    EXPECT_EQ(got[t], expected[t]) << "thread " << t;
  }
}

TEST_F(Pkcs11SessionTest, EveryWorkerRecoversWhenTheLoginIsLostUnderThem) {
  // Four workers sign; while they wait at a barrier every session of the
  // process is closed (the login with them); then they all need recovery at
  // once. The first to find out logs in again; each reopens and tries its
  // operation again (or, starting after the recovery, just reopens): no
  // operation fails, and the token logs in once.
  constexpr int kThreads = 4;
  constexpr int kBefore = 5;
  constexpr int kAfter = 10;
  std::barrier sync(kThreads + 1);
  std::vector<int> failures(kThreads, 0), successes(kThreads, 0);
  std::vector<std::string> first_failure(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Session session(token_);
      Bytes hash(32, static_cast<unsigned char>(t));
      auto sign = [&] {
        Bytes sig(asynccrypt::p11::kMaxEcdsaDer);
        std::size_t len = sig.size();
        Status s = session.sign_ecdsa(p256_key_id(), hash.data(), hash.size(), sig.data(), &len);
        if (s.is_ok()) {
          ++successes[t];
        } else if (failures[t]++ == 0) {
          first_failure[t] = s.message();
        }
      };
      for (int i = 0; i < kBefore; ++i) sign();
      sync.arrive_and_wait();  // the main thread closes every session
      sync.arrive_and_wait();
      for (int i = 0; i < kAfter; ++i) sign();
    });
  }
  sync.arrive_and_wait();
  EXPECT_EQ(token_->fn()->C_CloseAllSessions(token_->binding().slot), CKR_OK);
  sync.arrive_and_wait();
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t << ": " << first_failure[t];
    EXPECT_EQ(successes[t], kBefore + kAfter) << "thread " << t;
  }
  EXPECT_EQ(token_->binding().generation, 1u);
}

TEST_F(Pkcs11SessionTest, MissingObjectIsMissingKey) {
  Session session(token_);
  Bytes info = digest_info_sha256(Bytes(32, 1));
  Bytes sig(256);
  std::size_t len = sig.size();
  Status s = session.sign_rsa_pkcs1(KeyRef::id("\x7f"), info.data(), info.size(), sig.data(), &len);
  EXPECT_EQ(s.code(), MISSING_KEY);
  EXPECT_NE(s.message().find("no private key with id 7f on token 'asynccrypt-test'"),
            std::string::npos)
      << s.message();
  s = session.sign_rsa_pkcs1(KeyRef::label("nope"), info.data(), info.size(), sig.data(), &len);
  EXPECT_EQ(s.code(), MISSING_KEY);
  EXPECT_NE(s.message().find("labelled 'nope'"), std::string::npos) << s.message();
  s = session.sign_rsa_pkcs1(KeyRef::id(""), info.data(), info.size(), sig.data(), &len);
  EXPECT_EQ(s.code(), BAD_FUNC_ARG);
  // A missing key leaves the session usable.
  len = sig.size();
  EXPECT_TRUE(
      session.sign_rsa_pkcs1(rsa_key_id(), info.data(), info.size(), sig.data(), &len).is_ok());
  EXPECT_EQ(session.opens(), 1);
}

TEST_F(Pkcs11SessionTest, BadInputGetsTheExactCode) {
  Session session(token_);
  Bytes hash(32, 7);
  Bytes out(256);
  std::size_t len = out.size();
  // An RSA key cannot do ECDSA.
  Status s = session.sign_ecdsa(rsa_key_id(), hash.data(), hash.size(), out.data(), &len);
  EXPECT_EQ(s.code(), WC_HW_E) << s.message();
  // Raw RSA takes at most the modulus's length.
  Bytes too_long(257, 1);
  len = out.size();
  s = session.rsa_private_raw(rsa_key_id(), RawUse::kSign, too_long.data(), too_long.size(),
                              out.data(), &len);
  EXPECT_EQ(s.code(), BAD_FUNC_ARG) << s.message();
  EXPECT_NE(s.message().find("does not fit the 256-byte modulus"), std::string::npos)
      << s.message();
  // PKCS#1 v1.5 leaves 245 bytes of a 2048-bit key for the DigestInfo.
  len = out.size();
  s = session.sign_rsa_pkcs1(rsa_key_id(), too_long.data(), 246, out.data(), &len);
  EXPECT_EQ(s.code(), BAD_FUNC_ARG) << s.message();
  len = out.size();
  s = session.sign_rsa_pkcs1(rsa_key_id(), too_long.data(), 245, out.data(), &len);
  EXPECT_TRUE(s.is_ok()) << s.message();
  len = out.size();
  s = session.sign_ecdsa(p256_key_id(), too_long.data(), 65, out.data(), &len);
  EXPECT_EQ(s.code(), BAD_FUNC_ARG) << s.message();
  // Too small an output buffer: BUFFER_E, and the next operation works.
  Bytes info = digest_info_sha256(hash);
  len = 16;
  s = session.sign_rsa_pkcs1(rsa_key_id(), info.data(), info.size(), out.data(), &len);
  EXPECT_EQ(s.code(), BUFFER_E) << s.message();
  // Too small a buffer for the DER ECDSA signature: the token signed, the
  // conversion says how much it needs.
  len = 8;
  s = session.sign_ecdsa(p256_key_id(), hash.data(), hash.size(), out.data(), &len);
  EXPECT_EQ(s.code(), BUFFER_E) << s.message();
  EXPECT_GE(len, 70u);
  len = out.size();
  s = session.sign_rsa_pkcs1(rsa_key_id(), info.data(), info.size(), out.data(), &len);
  EXPECT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(session.sign_rsa_pkcs1(rsa_key_id(), nullptr, 0, out.data(), &len).code(),
            BAD_FUNC_ARG);
}

TEST_F(Pkcs11SessionTest, LostSessionIsReopenedAndTheOperationTriedAgain) {
  Session session(token_);
  Bytes info = digest_info_sha256(Bytes(32, 3));
  Bytes sig(256);
  std::size_t len = sig.size();
  ASSERT_TRUE(session.open().is_ok());
  // Someone closes our session behind our back: the operation finds out
  // (CKR_SESSION_HANDLE_INVALID), reopens and signs.
  ASSERT_EQ(token_->fn()->C_CloseSession(session.handle()), CKR_OK);
  Status s = session.sign_rsa_pkcs1(rsa_key_id(), info.data(), info.size(), sig.data(), &len);
  EXPECT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(len, 256u);
  EXPECT_EQ(session.opens(), 2);
  // Only one session was lost: the login stayed, no new generation.
  EXPECT_EQ(token_->binding().generation, 0u);
  len = sig.size();
  s = session.sign_rsa_pkcs1(rsa_key_id(), info.data(), info.size(), sig.data(), &len);
  EXPECT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(session.opens(), 2);
}

TEST_F(Pkcs11SessionTest, AllSessionsClosedLogsInAgain) {
  Session a(token_), b(token_);
  Bytes hash(32, 5);
  Bytes sig(asynccrypt::p11::kMaxEcdsaDer);
  std::size_t len = sig.size();
  ASSERT_TRUE(a.sign_ecdsa(p256_key_id(), hash.data(), 32, sig.data(), &len).is_ok());
  len = sig.size();
  ASSERT_TRUE(b.sign_ecdsa(p256_key_id(), hash.data(), 32, sig.data(), &len).is_ok());
  // Closing every session of the application also ends its login.
  ASSERT_EQ(token_->fn()->C_CloseAllSessions(token_->binding().slot), CKR_OK);
  // The first to notice logs in again and signs...
  len = sig.size();
  Status st = a.sign_ecdsa(p256_key_id(), hash.data(), 32, sig.data(), &len);
  EXPECT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(token_->binding().generation, 1u);
  // ... and the other sees the new generation and reopens without trying
  // its old session (whose number may be a's new session by now).
  len = sig.size();
  st = b.sign_ecdsa(p256_key_id(), hash.data(), 32, sig.data(), &len);
  EXPECT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(a.opens(), 2);
  EXPECT_EQ(b.opens(), 2);
  EXPECT_EQ(token_->binding().generation, 1u);
}

}  // namespace
