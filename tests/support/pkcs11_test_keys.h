// A test helper: wolfCrypt keys by id on the pkcs11 device, calls that pend, and the software
// twins.
#pragma once

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>

// Keys by id or label (WOLF_PRIVATE_KEY_ID) come with crypto callbacks.
#ifdef WOLF_CRYPTO_CB

namespace testing_support {

using Bytes = std::vector<std::uint8_t>;  // as test_random.h

inline Bytes sha256(const std::string& text) {
  Bytes hash(WC_SHA256_DIGEST_SIZE);
  wc_Sha256Hash(reinterpret_cast<const byte*>(text.data()), static_cast<word32>(text.size()),
                hash.data());
  return hash;
}

// A DigestInfo for SHA-256 over `text`: what TLS 1.2 signs with PKCS#1 v1.5.
inline Bytes digest_info(const std::string& text) {
  const Bytes hash = sha256(text);
  Bytes out(64);
  const word32 len = wc_EncodeSignature(out.data(), hash.data(), static_cast<word32>(hash.size()),
                                        wc_HashGetOID(WC_HASH_TYPE_SHA256));
  out.resize(len);
  return out;
}

// An event queue for the test's polling loop.
class Queue {
 public:
  Queue() { wolfEventQueue_Init(&q_); }
  ~Queue() { wolfEventQueue_Free(&q_); }
  WOLF_EVENT_QUEUE* get() { return &q_; }

  // Polls once; returns the events harvested.
  std::vector<WOLF_EVENT*> poll() {
    WOLF_EVENT* events[64];
    int count = 0;
    EXPECT_EQ(wolfAsync_EventQueuePoll(&q_, nullptr, events, 64, WOLF_POLL_FLAG_CHECK_HW, &count),
              0);
    return std::vector<WOLF_EVENT*>(events, events + count);
  }
  // Polls until `n` events were harvested (a bound on polls, not on time).
  std::vector<WOLF_EVENT*> poll_until(std::size_t n) {
    std::vector<WOLF_EVENT*> all;
    for (long spins = 0; all.size() < n && spins < 50'000'000; ++spins) {
      for (WOLF_EVENT* e : poll()) all.push_back(e);
    }
    return all;
  }

 private:
  WOLF_EVENT_QUEUE q_;
};

// Arms a key's event the way a wolfCrypt caller does before a call that
// may pend on the pkcs11 device (TLS does it with wolfSSL_AsyncInit).
inline void arm(WC_ASYNC_DEV* dev) {
  ASSERT_EQ(wolfAsync_EventInit(&dev->event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, dev, 0), 0);
}

// An RSA key by id (or label) on the device, and an RNG for PSS.
struct TokenRsa {
  TokenRsa(int dev_id, const char* label = nullptr) {
    wc_InitRng(&rng);
    if (label != nullptr) {
      init = wc_InitRsaKey_Label(&key, label, nullptr, dev_id);
    } else {
      unsigned char id[] = {0x01};
      init = wc_InitRsaKey_Id(&key, id, 1, nullptr, dev_id);
    }
  }
  ~TokenRsa() {
    wc_FreeRsaKey(&key);
    wc_FreeRng(&rng);
  }
  RsaKey key;
  WC_RNG rng;
  int init = 0;
};

struct TokenEcc {
  explicit TokenEcc(int dev_id, unsigned char id = 0x02) {
    wc_InitRng(&rng);
    init = wc_ecc_init_id(&key, &id, 1, nullptr, dev_id);
  }
  ~TokenEcc() {
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
  }
  ecc_key key;
  WC_RNG rng;
  int init = 0;
};

// The software twins of the token's keys (certs_test.h).
inline bool rsa_verify_pkcs1(const Bytes& sig, const Bytes& expected) {
  RsaKey pub;
  wc_InitRsaKey(&pub, nullptr);
  word32 idx = 0;
  bool ok =
      wc_RsaPrivateKeyDecode(server_key_der_2048, &idx, &pub, sizeof_server_key_der_2048) == 0;
  Bytes out(256);
  const int n = wc_RsaSSL_Verify(sig.data(), static_cast<word32>(sig.size()), out.data(),
                                 static_cast<word32>(out.size()), &pub);
  ok = ok && n == static_cast<int>(expected.size()) &&
       std::memcmp(out.data(), expected.data(), expected.size()) == 0;
  wc_FreeRsaKey(&pub);
  return ok;
}

inline bool rsa_verify_pss(const Bytes& sig, const Bytes& hash) {
  RsaKey pub;
  wc_InitRsaKey(&pub, nullptr);
  word32 idx = 0;
  bool ok =
      wc_RsaPrivateKeyDecode(server_key_der_2048, &idx, &pub, sizeof_server_key_der_2048) == 0;
  Bytes out(256);
  // A copy: 5.7.2 and older take the signature as byte*, not const byte*.
  Bytes in = sig;
  const int n = wc_RsaPSS_VerifyCheck(
      in.data(), static_cast<word32>(in.size()), out.data(), static_cast<word32>(out.size()),
      hash.data(), static_cast<word32>(hash.size()), WC_HASH_TYPE_SHA256, WC_MGF1SHA256, &pub);
  ok = ok && n > 0;
  wc_FreeRsaKey(&pub);
  return ok;
}

inline bool ecc_verify(const Bytes& sig, const Bytes& hash) {
  ecc_key pub;
  wc_ecc_init(&pub);
  word32 idx = 0;
  int verified = 0;
  const bool ok =
      wc_EccPrivateKeyDecode(ecc_key_der_256, &idx, &pub, sizeof_ecc_key_der_256) == 0 &&
      wc_ecc_verify_hash(sig.data(), static_cast<word32>(sig.size()), hash.data(),
                         static_cast<word32>(hash.size()), &verified, &pub) == 0 &&
      verified == 1;
  wc_ecc_free(&pub);
  return ok;
}

// The software PKCS#1 v1.5 signature (deterministic: the token's must match it byte for byte).
inline Bytes soft_pkcs1(const Bytes& in) {
  RsaKey key;
  WC_RNG rng;
  wc_InitRng(&rng);
  wc_InitRsaKey(&key, nullptr);
  word32 idx = 0;
  Bytes sig(256);
  int n = wc_RsaPrivateKeyDecode(server_key_der_2048, &idx, &key, sizeof_server_key_der_2048);
  if (n == 0) {
    n = wc_RsaSSL_Sign(in.data(), static_cast<word32>(in.size()), sig.data(),
                       static_cast<word32>(sig.size()), &key, &rng);
  }
  sig.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  wc_FreeRsaKey(&key);
  wc_FreeRng(&rng);
  return sig;
}

// Runs one armed RSA PKCS#1 v1.5 sign through the queue; returns the signature.
inline Bytes pending_rsa_pkcs1(TokenRsa& rsa, const Bytes& in, Queue& queue, int* first_ret) {
  Bytes sig(256);
  arm(&rsa.key.asyncDev);
  *first_ret = wc_RsaSSL_Sign(in.data(), static_cast<word32>(in.size()), sig.data(),
                              static_cast<word32>(sig.size()), &rsa.key, &rsa.rng);
  if (*first_ret != WC_PENDING_E) return {};
  EXPECT_EQ(wolfAsync_EventQueuePush(queue.get(), &rsa.key.asyncDev.event), 0);
  const auto events = queue.poll_until(1);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(rsa.key.asyncDev.event.ret, 0);
  // RSA is not called back: the result is in place, wolfCrypt returns its length.
  const int n = wc_RsaSSL_Sign(in.data(), static_cast<word32>(in.size()), sig.data(),
                               static_cast<word32>(sig.size()), &rsa.key, &rsa.rng);
  sig.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return sig;
}

}  // namespace testing_support

#endif  // WOLF_CRYPTO_CB
