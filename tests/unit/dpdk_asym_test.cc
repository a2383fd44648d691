// Tests of the dpdk device's public-key path (crypto_openssl): RSA and DH agreement equal
// synchronous wolfCrypt, Wycheproof RSA signatures, edge cases in software, driver errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_1024
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_3072
#include <wolfssl/certs_test.h>

#include "asynccrypt/queue.h"
#include "backends/dpdk/dpdk_asym.h"
#include "backends/dpdk/dpdk_device.h"
#include "support/dpdk_handle.h"
#include "support/test_queue.h"
#include "support/test_random.h"
#include "support/vectors.h"
#include "wolfcrypt/execute.h"

// LeakSanitizer: DPDK 22.11's crypto_openssl driver leaks about 1.3 KB of
// OpenSSL objects per RSA session it frees (reproduced without asynccrypt:
// rte_cryptodev_asym_session_create + _free in a loop; MODEX sessions do not
// leak). Not ours to fix; docs/hardware.md says so. The fast unwinder stops
// inside libcrypto (no frame pointers), so that is the name to match; only
// the driver calls OpenSSL in this program. Everything else stays checked.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:librte_crypto_openssl.so\nleak:libcrypto.so\n";
}

#ifndef ASYNCCRYPT_HAVE_DPDK

TEST(DpdkAsym, NeedsDpdk) { DPDK_REQUIRE_BUILT(); }

#else

namespace {

using testing_support::Bytes;
using testing_support::DpdkHandle;
using testing_support::random_bytes;
using testing_support::run_all;
using testing_support::test_seed;

// One spec for the whole process (the EAL starts once): the OpenSSL software
// driver, which has RSA and modular exponentiation. depth=16 makes
// backpressure common. ASYNCCRYPT_DPDK_ASYM_TEST_SPEC replaces it (a QAT
// function, say).
std::string test_spec() {
  const char* env = std::getenv("ASYNCCRYPT_DPDK_ASYM_TEST_SPEC");
  return env != nullptr ? env : "dpdk:vdev=crypto_openssl,qps=2,depth=16,burst=4,dh=driver";
}

// crypto_openssl is a CPU driver whose modular exponentiation is not
// constant-time: DH agreement goes to it only when the spec says dh=driver
// (the default spec above does, to test that path; CTest's
// dpdk_asym_test_dh_auto runs without it).
bool dh_on_driver() { return test_spec().find("dh=driver") != std::string::npos; }

#define DH_ON_DRIVER_OR_SKIP()                                                           \
  if (!dh_on_driver()) {                                                                 \
    GTEST_SKIP() << "DH agreement stays in software without dh=driver (this run checks " \
                    "that: DhStaysInSoftwareOnCpuDriversUnlessAsked)";                   \
  }

// Opens the test device or skips the test, saying why; also skips when the
// driver has no public-key transform we use.
#define OPEN_OR_SKIP(handle)                                                               \
  DPDK_OPEN_OR_SKIP(handle, test_spec());                                                  \
  if (((handle).device()->capabilities() & (1u << ASYNC_SW_RSA_FUNC)) == 0) {              \
    GTEST_SKIP() << "the driver of " << test_spec() << " has no RSA (crypto_openssl has)"; \
  }

// Calls a wolfCrypt API on an object bound to the device until it stops
// pending, waiting for each deferred step (as wolfCrypt's own tests do).
// *pended tells whether it pended at least once.
int call_async(WC_ASYNC_DEV* dev, const std::function<int()>& call, bool* pended = nullptr) {
  int ret = call();
  if (pended != nullptr) *pended = ret == WC_PENDING_E;
  for (int rounds = 0; ret == WC_PENDING_E && rounds < 100; ++rounds) {
    ret = wc_AsyncWait(ret, dev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) ret = call();
  }
  return ret;
}

// Owned<T, kFree> holds a wolfCrypt object that kFree frees at scope exit;
// the derived class's constructor initialises it.
template <typename T, int (*kFree)(T*)>
class Owned {
 public:
  Owned() = default;
  ~Owned() { kFree(&obj_); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  T* get() { return &obj_; }

 private:
  T obj_{};
};

class Rng : public Owned<WC_RNG, wc_FreeRng> {
 public:
  Rng() { EXPECT_EQ(wc_InitRng(get()), 0); }
};

struct KeyDer {
  const unsigned char* der;
  int size;
  int bits;
};

const KeyDer kRsaKeys[] = {
    {client_key_der_1024, sizeof_client_key_der_1024, 1024},
    {client_key_der_2048, sizeof_client_key_der_2048, 2048},
    {client_key_der_3072, sizeof_client_key_der_3072, 3072},
};

// An RSA key bound to a device (or to none), freed at scope exit.
class RsaKeyHolder : public Owned<RsaKey, wc_FreeRsaKey> {
 public:
  RsaKeyHolder(const KeyDer& k, int dev_id) {
    EXPECT_EQ(wc_InitRsaKey_ex(get(), nullptr, dev_id), 0);
    word32 idx = 0;
    EXPECT_EQ(wc_RsaPrivateKeyDecode(k.der, &idx, get(), static_cast<word32>(k.size)), 0);
  }
};

std::uint64_t offloaded(const DpdkHandle& dev) {
  return dev.device()->dpdk_counters().offloaded.load();
}
std::uint64_t software(const DpdkHandle& dev) {
  return dev.device()->dpdk_counters().software.load();
}

// run_all_offloaded is run_all(devs), expecting the driver to take every one.
std::vector<int> run_all_offloaded(const DpdkHandle& dev, const std::vector<WC_ASYNC_DEV*>& devs) {
  const auto before = offloaded(dev);
  std::vector<int> results = run_all(devs);
  EXPECT_EQ(offloaded(dev) - before, static_cast<std::uint64_t>(devs.size()));
  return results;
}

// ---------------------------------------------------------------------------
// Capabilities
// ---------------------------------------------------------------------------

TEST(DpdkAsym, CapabilitiesComeFromTheDriver) {
  OPEN_OR_SKIP(dev);
  word32 mask = 0;
  ASSERT_EQ(asynccrypt_DevCapabilities(dev.id(), &mask), 0);
  EXPECT_NE(mask & ASYNCCRYPT_CAP(ASYNC_SW_RSA_FUNC), 0u);
  EXPECT_EQ((mask & ASYNCCRYPT_CAP(ASYNC_SW_DH_AGREE)) != 0, dh_on_driver());
  // crypto_openssl in DPDK 22.11 advertises no ECDSA, ECDH or point
  // multiplication; DH key generation and RSA key generation need
  // wolfCrypt's own private-key generation.
  for (int type : {ASYNC_SW_ECC_MAKE, ASYNC_SW_ECC_SIGN, ASYNC_SW_ECC_VERIFY,
                   ASYNC_SW_ECC_SHARED_SEC, ASYNC_SW_RSA_MAKE, ASYNC_SW_DH_GEN}) {
    EXPECT_EQ(mask & ASYNCCRYPT_CAP(type), 0u) << asynccrypt::wolfcrypt::op_name(type);
  }
}

TEST(DpdkAsym, DriverStatusesMapToWolfSslCodes) {
  // enum rte_crypto_op_status (rte_crypto.h; the tests do not see DPDK's
  // headers): SUCCESS 0, NOT_PROCESSED 1, AUTH_FAILED 2, INVALID_SESSION 3,
  // INVALID_ARGS 4, ERROR 5.
  EXPECT_EQ(asynccrypt::dpdk_asym_status_to_error(0), 0);
  EXPECT_EQ(asynccrypt::dpdk_asym_status_to_error(4), BAD_FUNC_ARG);
  for (std::uint8_t status : {1, 2, 3, 5}) {
    EXPECT_EQ(asynccrypt::dpdk_asym_status_to_error(status), WC_HW_E) << int{status};
  }
}

// ---------------------------------------------------------------------------
// RSA
// ---------------------------------------------------------------------------

// The raw primitive that every padded RSA call ends in, all four types, on
// random inputs below the modulus (some shorter than it), many in flight.
TEST(DpdkAsym, RsaFunctionMatchesWolfCrypt) {
  OPEN_OR_SKIP(dev);
  std::mt19937 gen(test_seed());
  Rng rng;
  constexpr int kOps = 24;
  for (const KeyDer& k : kRsaKeys) {
    RsaKeyHolder sync_key(k, INVALID_DEVID);
    const std::size_t len = static_cast<std::size_t>(k.bits / 8);
    for (int type :
         {RSA_PUBLIC_ENCRYPT, RSA_PUBLIC_DECRYPT, RSA_PRIVATE_ENCRYPT, RSA_PRIVATE_DECRYPT}) {
      std::vector<std::unique_ptr<RsaKeyHolder> > keys;
      std::vector<Bytes> in(kOps), out(kOps, Bytes(len + 8));
      std::vector<word32> out_len(kOps, static_cast<word32>(len + 8));
      std::vector<WC_ASYNC_DEV*> devs;
      for (int i = 0; i < kOps; ++i) {
        keys.push_back(std::make_unique<RsaKeyHolder>(k, dev.id()));
        in[i] = random_bytes(gen, i % 4 == 3 ? len - 1 - gen() % 8 : len);
        if (in[i].size() == len) in[i][0] &= 0x7f;  // below the modulus (its top bit is set)
        in[i].back() |= 2;                          // above 1: a valid private-decrypt input
        ASSERT_EQ(wc_RsaFunction(in[i].data(), static_cast<word32>(in[i].size()), out[i].data(),
                                 &out_len[i], type, keys[i]->get(), rng.get()),
                  WC_PENDING_E);
        devs.push_back(&keys[i]->get()->asyncDev);
      }
      const std::vector<int> results = run_all_offloaded(dev, devs);
      for (int i = 0; i < kOps; ++i) {
        Bytes expect(len + 8);
        word32 expect_len = static_cast<word32>(expect.size());
        const int want =
            wc_RsaFunction(in[i].data(), static_cast<word32>(in[i].size()), expect.data(),
                           &expect_len, type, sync_key.get(), rng.get());
        EXPECT_EQ(results[i], want) << k.bits << " type " << type << " op " << i;
        EXPECT_EQ(out_len[i], expect_len) << k.bits << " type " << type << " op " << i;
        EXPECT_EQ(out[i], expect) << k.bits << " type " << type << " op " << i;
      }
    }
  }
}

// PKCS#1 v1.5 and PSS through wolfCrypt's padded API: wolfCrypt pads and
// checks, the device runs the primitive; signatures are deterministic for
// v1.5 and must be byte-identical; corrupted ones fail with wolfCrypt's code.
TEST(DpdkAsym, RsaSignVerifyEncryptDecryptThroughTheApi) {
  OPEN_OR_SKIP(dev);
  std::mt19937 gen(test_seed());
  Rng rng;
  for (const KeyDer& k : kRsaKeys) {
    RsaKeyHolder sync_key(k, INVALID_DEVID);
    RsaKeyHolder key(k, dev.id());
    const word32 len = static_cast<word32>(k.bits / 8);
    const auto before = offloaded(dev);
    for (int round = 0; round < 4; ++round) {
      const Bytes msg = random_bytes(gen, 1 + gen() % 48);
      const auto msg_len = static_cast<word32>(msg.size());
      Bytes sig(len), expect(len);
      bool pended = false;
      const int n = call_async(
          &key.get()->asyncDev,
          [&] {
            return wc_RsaSSL_Sign(msg.data(), msg_len, sig.data(), len, key.get(), rng.get());
          },
          &pended);
      EXPECT_TRUE(pended);
      ASSERT_EQ(n, static_cast<int>(len));
      ASSERT_EQ(wc_RsaSSL_Sign(msg.data(), msg_len, expect.data(), len, sync_key.get(), rng.get()),
                static_cast<int>(len));
      EXPECT_EQ(sig, expect) << k.bits;

      // Verify: the good signature, then one with a flipped bit (wrong
      // padding once decrypted).
      for (bool corrupt : {false, true}) {
        Bytes s = sig;
        if (corrupt) s[len / 2] ^= 0x10;
        Bytes out(len), want_out(len);
        const int got = call_async(&key.get()->asyncDev, [&] {
          return wc_RsaSSL_Verify(s.data(), len, out.data(), len, key.get());
        });
        const int want = wc_RsaSSL_Verify(s.data(), len, want_out.data(), len, sync_key.get());
        EXPECT_EQ(got, want) << k.bits << " corrupt=" << corrupt;
        if (!corrupt) {
          ASSERT_EQ(got, static_cast<int>(msg_len));
          EXPECT_EQ(Bytes(out.begin(), out.begin() + got), msg);
        } else {
          EXPECT_LT(got, 0);
        }
      }

      // PSS (random salt): sign on the device, verify synchronously, and
      // the other way round.
      Bytes digest = random_bytes(gen, WC_SHA256_DIGEST_SIZE);
      Bytes pss(len), pss_out(len);
      const int pss_len = call_async(&key.get()->asyncDev, [&] {
        return wc_RsaPSS_Sign(digest.data(), static_cast<word32>(digest.size()), pss.data(), len,
                              WC_HASH_TYPE_SHA256, WC_MGF1SHA256, key.get(), rng.get());
      });
      ASSERT_EQ(pss_len, static_cast<int>(len));
      EXPECT_GT(wc_RsaPSS_VerifyCheck(pss.data(), len, pss_out.data(), len, digest.data(),
                                      static_cast<word32>(digest.size()), WC_HASH_TYPE_SHA256,
                                      WC_MGF1SHA256, sync_key.get()),
                0);

      // Encryption with random padding: encrypt on the device, decrypt
      // synchronously, and back.
      Bytes ct(len), pt(len);
      const int ct_len = call_async(&key.get()->asyncDev, [&] {
        return wc_RsaPublicEncrypt(msg.data(), msg_len, ct.data(), len, key.get(), rng.get());
      });
      ASSERT_EQ(ct_len, static_cast<int>(len));
      wc_RsaSetRNG(sync_key.get(), rng.get());
      ASSERT_EQ(wc_RsaPrivateDecrypt(ct.data(), len, pt.data(), len, sync_key.get()),
                static_cast<int>(msg_len));
      EXPECT_EQ(Bytes(pt.begin(), pt.begin() + msg_len), msg);
      ASSERT_EQ(wc_RsaPublicEncrypt(msg.data(), msg_len, ct.data(), len, sync_key.get(), rng.get()),
                static_cast<int>(len));
      wc_RsaSetRNG(key.get(), rng.get());
      std::fill(pt.begin(), pt.end(), 0);
      const int pt_len = call_async(&key.get()->asyncDev, [&] {
        return wc_RsaPrivateDecrypt(ct.data(), len, pt.data(), len, key.get());
      });
      ASSERT_EQ(pt_len, static_cast<int>(msg_len));
      EXPECT_EQ(Bytes(pt.begin(), pt.begin() + msg_len), msg);

      // A ciphertext that does not decrypt to PKCS#1 v1.5 padding.
      Bytes junk = random_bytes(gen, len);
      junk[0] = 0;
      junk[len - 1] |= 2;
      const int bad = call_async(&key.get()->asyncDev, [&] {
        return wc_RsaPrivateDecrypt(junk.data(), len, pt.data(), len, key.get());
      });
      EXPECT_EQ(bad, wc_RsaPrivateDecrypt(junk.data(), len, pt.data(), len, sync_key.get()));
      EXPECT_LT(bad, 0);
    }
    // Sign, 2 verifies, PSS sign, encrypt, 2 decrypts per round.
    EXPECT_GE(offloaded(dev) - before, 4u * 7u) << k.bits;
  }
}

// Every Wycheproof RSA PKCS#1 v1.5 signature: the device's raw public
// operation under wolfCrypt's unpadding gives wolfCrypt's exact answer.
TEST(DpdkAsymWycheproof, RsaSignatureVerify) {
  OPEN_OR_SKIP(dev);
  int checked = 0;
  for (const char* file :
       {"rsa_signature_2048_sha256_test.json", "rsa_signature_3072_sha384_test.json",
        "rsa_signature_4096_sha384_test.json"}) {
    testing_support::Json doc;
    std::string error;
    ASSERT_TRUE(testing_support::read_json_file(
        std::string(ASYNCCRYPT_TESTDATA_DIR) + "/wycheproof/" + file, &doc, &error))
        << error;
    for (const auto& group : doc.at("testGroups")) {
      Bytes n, e;
      ASSERT_TRUE(
          testing_support::from_hex(group.at("publicKey").at("modulus").get<std::string>(), &n));
      ASSERT_TRUE(testing_support::from_hex(
          group.at("publicKey").at("publicExponent").get<std::string>(), &e));
      RsaKey sync_key, key;
      ASSERT_EQ(wc_InitRsaKey_ex(&sync_key, nullptr, INVALID_DEVID), 0);
      ASSERT_EQ(wc_InitRsaKey_ex(&key, nullptr, dev.id()), 0);
      ASSERT_EQ(wc_RsaPublicKeyDecodeRaw(n.data(), static_cast<word32>(n.size()), e.data(),
                                         static_cast<word32>(e.size()), &sync_key),
                0);
      ASSERT_EQ(wc_RsaPublicKeyDecodeRaw(n.data(), static_cast<word32>(n.size()), e.data(),
                                         static_cast<word32>(e.size()), &key),
                0);
      for (const auto& t : group.at("tests")) {
        Bytes sig;
        ASSERT_TRUE(testing_support::from_hex(t.at("sig").get<std::string>(), &sig));
        sig.reserve(sig.size() + 1);
        Bytes out(1024), want_out(1024);
        const auto sig_len = static_cast<word32>(sig.size());
        const int got = call_async(&key.asyncDev, [&] {
          return wc_RsaSSL_Verify(sig.data(), sig_len, out.data(), 1024, &key);
        });
        const int want = wc_RsaSSL_Verify(sig.data(), sig_len, want_out.data(), 1024, &sync_key);
        EXPECT_EQ(got, want) << file << " tcId " << t.at("tcId");
        if (got > 0 && got == want) {
          EXPECT_EQ(Bytes(out.begin(), out.begin() + got),
                    Bytes(want_out.begin(), want_out.begin() + want))
              << file << " tcId " << t.at("tcId");
        }
        ++checked;
      }
      wc_FreeRsaKey(&key);
      wc_FreeRsaKey(&sync_key);
    }
  }
  EXPECT_GT(checked, 500);
  EXPECT_GT(offloaded(dev), 100u);
}

// Inputs whose wolfCrypt answer is an error (or a reduction the driver does
// not do) stay in software and give wolfCrypt's exact result.
TEST(DpdkAsym, RsaEdgeCasesRunInSoftwareWithWolfCryptsAnswer) {
  OPEN_OR_SKIP(dev);
  Rng rng;
  const KeyDer& k = kRsaKeys[1];
  RsaKeyHolder sync_key(k, INVALID_DEVID);
  const word32 len = 256;
  Bytes n(len);
  ASSERT_EQ(mp_to_unsigned_bin_len(&sync_key.get()->n, n.data(), static_cast<int>(len)), MP_OKAY);
  struct Case {
    const char* what;
    Bytes in;
    int type;
    word32 out_len;
    bool with_rng;
  };
  Bytes too_long(len + 1, 0x01);
  Bytes n_plus(n);
  n_plus.back() = static_cast<std::uint8_t>(n_plus.back() + 2);  // n + 2 (n is odd: no carry)
  std::vector<Case> cases = {
      {"input equal to the modulus, public", n, RSA_PUBLIC_ENCRYPT, len, true},
      {"input above the modulus, public", n_plus, RSA_PUBLIC_DECRYPT, len, true},
      {"input equal to the modulus, private", n, RSA_PRIVATE_ENCRYPT, len, true},
      {"input longer than the modulus", too_long, RSA_PUBLIC_ENCRYPT, len, true},
      {"output buffer too small", Bytes(len, 0x01), RSA_PUBLIC_ENCRYPT, len - 1, true},
      {"private operation without an RNG", Bytes(len, 0x01), RSA_PRIVATE_ENCRYPT, len, false},
      {"unknown operation type", Bytes(len, 0x01), 7, len, true},
  };
  for (auto& c : cases) {
    RsaKeyHolder key(k, dev.id());
    c.in.reserve(c.in.size() + 1);
    Bytes out(len + 8), want_out(len + 8);
    word32 out_len = c.out_len, want_len = c.out_len;
    WC_RNG* r = c.with_rng ? rng.get() : nullptr;
    const auto soft = software(dev);
    int got = wc_RsaFunction(c.in.data(), static_cast<word32>(c.in.size()), out.data(), &out_len,
                             c.type, key.get(), r);
    if (got == WC_PENDING_E) {
      got = run_all({&key.get()->asyncDev})[0];
      EXPECT_EQ(software(dev), soft + 1) << c.what;
    }
    const int want = wc_RsaFunction(c.in.data(), static_cast<word32>(c.in.size()), want_out.data(),
                                    &want_len, c.type, sync_key.get(), r);
    EXPECT_EQ(got, want) << c.what;
    EXPECT_EQ(out_len, want_len) << c.what;
    EXPECT_EQ(out, want_out) << c.what;
  }
}

// Issue 14.4: a malformed private key whose CRT numbers are each as long as
// the largest modulus (all seven parts together exceed what staging holds)
// must not overflow the staging buffer; such a key stays in software, and
// wolfCrypt gives it its own answer. Before the fix, ASan reported a
// stack-buffer-overflow in DpdkAsym::stage.
TEST(DpdkAsym, OversizedCrtPartsStayInSoftware) {
  OPEN_OR_SKIP(dev);
  Rng rng;
  constexpr std::size_t kLen = 1024;  // the largest modulus staging takes
  const auto fill = [](mp_int* a, std::uint8_t top, std::uint8_t last) {
    Bytes v(kLen, 0x5a);
    v.front() = top;
    v.back() = last;
    return mp_read_unsigned_bin(a, v.data(), static_cast<word32>(v.size()));
  };
  RsaKeyHolder key(kRsaKeys[1], dev.id());
  RsaKeyHolder sync_key(kRsaKeys[1], INVALID_DEVID);
  if (fill(&key.get()->n, 0xc1, 0x01) != MP_OKAY) {
    GTEST_SKIP() << "this build's big numbers hold fewer than " << kLen * 8 << " bits";
  }
#ifdef RSA_LOW_MEM
  GTEST_SKIP() << "RSA_LOW_MEM keys keep no CRT parameters";
#else
  ASSERT_EQ(fill(&sync_key.get()->n, 0xc1, 0x01), MP_OKAY);
  for (RsaKey* k : {key.get(), sync_key.get()}) {
    for (mp_int* part : {&k->p, &k->q, &k->dP, &k->dQ, &k->u}) {
      ASSERT_EQ(fill(part, 0xb3, 0x07), MP_OKAY);
    }
  }
  Bytes in(kLen, 0x11), out(kLen), want_out(kLen);
  word32 out_len = kLen, want_len = kLen;
  const auto offloaded_before = offloaded(dev);
  int got = wc_RsaFunction(in.data(), kLen, out.data(), &out_len, RSA_PRIVATE_DECRYPT, key.get(),
                           rng.get());
  if (got == WC_PENDING_E) got = run_all({&key.get()->asyncDev})[0];
  EXPECT_EQ(offloaded(dev), offloaded_before) << "the malformed key reached the driver";
  const int want = wc_RsaFunction(in.data(), kLen, want_out.data(), &want_len, RSA_PRIVATE_DECRYPT,
                                  sync_key.get(), rng.get());
  EXPECT_EQ(got, want);
  if (want == 0) {
    EXPECT_EQ(out, want_out);
  }
#endif
}

// A key the driver refuses that wolfCrypt takes: OpenSSL rejects a public
// exponent that is not below the modulus (wolfCrypt computes with it). The
// driver's failure is reported as WC_HW_E (counted), never silently
// replaced by a software result. Where the driver takes the key after all,
// its result is checked against wolfCrypt's instead.
TEST(DpdkAsym, DriverFailureIsWcHwE) {
  OPEN_OR_SKIP(dev);
  if (test_spec().find("crypto_openssl") == std::string::npos) {
    GTEST_SKIP() << "depends on crypto_openssl's key limits";
  }
  RsaKeyHolder base(kRsaKeys[1], INVALID_DEVID);
  Bytes n(256);
  ASSERT_EQ(mp_to_unsigned_bin_len(&base.get()->n, n.data(), 256), MP_OKAY);
  const Bytes e = n;  // e = n
  RsaKey key;
  ASSERT_EQ(wc_InitRsaKey_ex(&key, nullptr, dev.id()), 0);
  ASSERT_EQ(wc_RsaPublicKeyDecodeRaw(n.data(), 256, e.data(), static_cast<word32>(e.size()), &key),
            0);
  Bytes in(256, 0x11), out(256);
  word32 out_len = 256;
  const auto errors = dev.device()->dpdk_counters().driver_errors.load();
  const auto soft = software(dev);
  ASSERT_EQ(wc_RsaFunction(in.data(), 256, out.data(), &out_len, RSA_PUBLIC_ENCRYPT, &key, nullptr),
            WC_PENDING_E);
  const int got = run_all({&key.asyncDev})[0];
  if (got == 0) {
    // A driver (or a DPDK version) that takes e = n, or refuses it already
    // at session creation so that it runs in software: no failure to see,
    // but what came back must be the right answer, with no error counted.
    std::printf("the driver took e = n%s; checking its result\n",
                software(dev) > soft ? " (refused at session creation: ran in software)" : "");
    RsaKey sw_key;
    ASSERT_EQ(wc_InitRsaKey_ex(&sw_key, nullptr, INVALID_DEVID), 0);
    ASSERT_EQ(
        wc_RsaPublicKeyDecodeRaw(n.data(), 256, e.data(), static_cast<word32>(e.size()), &sw_key),
        0);
    Bytes want(256);
    word32 want_len = 256;
    EXPECT_EQ(wc_RsaFunction(in.data(), 256, want.data(), &want_len, RSA_PUBLIC_ENCRYPT, &sw_key,
                             nullptr),
              0);
    wc_FreeRsaKey(&sw_key);
    EXPECT_EQ(out_len, want_len);
    EXPECT_EQ(out, want);
    EXPECT_EQ(dev.device()->dpdk_counters().driver_errors.load(), errors);
    wc_FreeRsaKey(&key);
    return;
  }
  EXPECT_EQ(got, WC_HW_E);
  EXPECT_EQ(dev.device()->dpdk_counters().driver_errors.load(), errors + 1);
  // No state is left behind: the key's next operation fails the same way.
  word32 sz = 256;
  ASSERT_EQ(wc_RsaFunction(in.data(), 256, out.data(), &sz, RSA_PUBLIC_ENCRYPT, &key, nullptr),
            WC_PENDING_E);
  EXPECT_EQ(run_all({&key.asyncDev})[0], WC_HW_E);
  wc_FreeRsaKey(&key);
}

// Freeing keys whose operations are staged or inside the driver: nothing
// leaks or crashes (run under ASan), and the device keeps working.
TEST(DpdkAsym, FreeingKeysCancelsOperationsInFlight) {
  OPEN_OR_SKIP(dev);
  Rng rng;
  asynccrypt::EventQueue queue = testing_support::new_queue();
  constexpr int kOps = 12;
  std::vector<std::unique_ptr<RsaKeyHolder> > keys;
  std::vector<Bytes> in(kOps, Bytes(256, 0x22)), out(kOps, Bytes(256));
  std::vector<word32> out_len(kOps, 256);
  for (int i = 0; i < kOps; ++i) {
    keys.push_back(std::make_unique<RsaKeyHolder>(kRsaKeys[1], dev.id()));
    ASSERT_EQ(wc_RsaFunction(in[i].data(), 256, out[i].data(), &out_len[i], RSA_PRIVATE_DECRYPT,
                             keys[i]->get(), rng.get()),
              WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(&keys[i]->get()->asyncDev, queue.get(), WC_ASYNC_FLAG_NONE), 0);
  }
  WOLF_EVENT* events[64];
  int count = 0;
  // One poll stages everything and sends some of it to the driver.
  ASSERT_EQ(
      wolfAsync_EventQueuePoll(queue.get(), nullptr, events, 64, WOLF_POLL_FLAG_CHECK_HW, &count),
      0);
  for (int i = 0; i < count; ++i)
    (void)wolfAsync_EventPop(events[i], WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
  keys.clear();
  for (int spins = 0; spins < 100; ++spins) {
    ASSERT_EQ(
        wolfAsync_EventQueuePoll(queue.get(), nullptr, events, 64, WOLF_POLL_FLAG_CHECK_HW, &count),
        0);
    EXPECT_EQ(count, 0);
  }
  RsaKeyHolder key(kRsaKeys[1], dev.id());
  Bytes sig(256);
  const Bytes msg(20, 0x33);
  EXPECT_EQ(
      call_async(
          &key.get()->asyncDev,
          [&] { return wc_RsaSSL_Sign(msg.data(), 20, sig.data(), 256, key.get(), rng.get()); }),
      256);
}

// ---------------------------------------------------------------------------
// DH
// ---------------------------------------------------------------------------

class DhKeyHolder : public Owned<DhKey, wc_FreeDhKey> {
 public:
  // group: a named group (WC_FFDHE_2048), or kDhDer2048 for the 2048-bit
  // parameters in wolfSSL's test certificates.
  DhKeyHolder(int group, int dev_id) {
    EXPECT_EQ(wc_InitDhKey_ex(get(), nullptr, dev_id), 0);
    if (group == kDhDer2048) {
      word32 idx = 0;
      EXPECT_EQ(wc_DhKeyDecode(dh_key_der_2048, &idx, get(), sizeof_dh_key_der_2048), 0);
    } else {
      EXPECT_EQ(wc_DhSetNamedKey(get(), group), 0);
    }
  }
  static constexpr int kDhDer2048 = 0;
};

struct DhPair {
  Bytes priv, pub;
};

DhPair make_dh_pair(DhKey* sync_key, WC_RNG* rng, word32 p_len) {
  DhPair pair{Bytes(p_len), Bytes(p_len)};
  word32 priv_len = p_len, pub_len = p_len;
  EXPECT_EQ(
      wc_DhGenerateKeyPair(sync_key, rng, pair.priv.data(), &priv_len, pair.pub.data(), &pub_len),
      0);
  pair.priv.resize(priv_len);
  pair.pub.resize(pub_len);
  pair.priv.reserve(p_len + 1);
  pair.pub.reserve(p_len + 1);
  return pair;
}

// Issue 14.6: on a CPU driver without dh=driver, DH agreement (the private
// exponent) never reaches the driver's variable-time exponentiation: the
// device declines it and wolfCrypt computes it at once, with the same
// secret. Before the fix every driver with MODEX took it.
TEST(DpdkAsym, DhStaysInSoftwareOnCpuDriversUnlessAsked) {
  OPEN_OR_SKIP(dev);
  if (dh_on_driver())
    GTEST_SKIP() << "the spec asks for dh=driver; dpdk_asym_test_dh_auto runs this";
  word32 mask = 0;
  ASSERT_EQ(asynccrypt_DevCapabilities(dev.id(), &mask), 0);
  EXPECT_EQ(mask & ASYNCCRYPT_CAP(ASYNC_SW_DH_AGREE), 0u);
  Rng rng;
  DhKeyHolder sync_key(WC_FFDHE_2048, INVALID_DEVID);
  DhKeyHolder key(WC_FFDHE_2048, dev.id());
  const DhPair mine = make_dh_pair(sync_key.get(), rng.get(), 256);
  const DhPair theirs = make_dh_pair(sync_key.get(), rng.get(), 256);
  Bytes got(256), want(256);
  word32 got_len = 256, want_len = 256;
  const auto offloaded_before = offloaded(dev);
  int ret = wc_DhAgree(key.get(), got.data(), &got_len, mine.priv.data(),
                       static_cast<word32>(mine.priv.size()), theirs.pub.data(),
                       static_cast<word32>(theirs.pub.size()));
  if (ret == WC_PENDING_E) ret = run_all({&key.get()->asyncDev})[0];
  ASSERT_EQ(ret, 0);
  EXPECT_EQ(offloaded(dev), offloaded_before) << "the private exponent reached the driver";
  ASSERT_EQ(wc_DhAgree(sync_key.get(), want.data(), &want_len, mine.priv.data(),
                       static_cast<word32>(mine.priv.size()), theirs.pub.data(),
                       static_cast<word32>(theirs.pub.size())),
            0);
  got.resize(got_len);
  want.resize(want_len);
  EXPECT_EQ(got, want);
}

TEST(DpdkAsym, DhAgreeMatchesWolfCrypt) {
  OPEN_OR_SKIP(dev);
  DH_ON_DRIVER_OR_SKIP();
  Rng rng;
  constexpr int kOps = 16;
  for (auto [group, p_len] : {std::pair{static_cast<int>(WC_FFDHE_2048), 256u},
                              std::pair{DhKeyHolder::kDhDer2048, 256u}}) {
    DhKeyHolder sync_key(group, INVALID_DEVID);
    std::vector<std::unique_ptr<DhKeyHolder> > keys;
    std::vector<DhPair> mine, theirs;
    std::vector<Bytes> agree(kOps, Bytes(p_len));
    std::vector<word32> agree_len(kOps, p_len);
    std::vector<WC_ASYNC_DEV*> devs;
    for (int i = 0; i < kOps; ++i) {
      mine.push_back(make_dh_pair(sync_key.get(), rng.get(), p_len));
      theirs.push_back(make_dh_pair(sync_key.get(), rng.get(), p_len));
      keys.push_back(std::make_unique<DhKeyHolder>(group, dev.id()));
      ASSERT_EQ(wc_DhAgree(keys[i]->get(), agree[i].data(), &agree_len[i], mine[i].priv.data(),
                           static_cast<word32>(mine[i].priv.size()), theirs[i].pub.data(),
                           static_cast<word32>(theirs[i].pub.size())),
                WC_PENDING_E);
      devs.push_back(&keys[i]->get()->asyncDev);
    }
    const std::vector<int> results = run_all_offloaded(dev, devs);
    for (int i = 0; i < kOps; ++i) {
      Bytes expect(p_len);
      word32 expect_len = p_len;
      ASSERT_EQ(wc_DhAgree(sync_key.get(), expect.data(), &expect_len, mine[i].priv.data(),
                           static_cast<word32>(mine[i].priv.size()), theirs[i].pub.data(),
                           static_cast<word32>(theirs[i].pub.size())),
                0);
      EXPECT_EQ(results[i], 0) << group << " op " << i;
      ASSERT_EQ(agree_len[i], expect_len) << group << " op " << i;
      agree[i].resize(agree_len[i]);
      expect.resize(expect_len);
      EXPECT_EQ(agree[i], expect) << group << " op " << i;
      // And the other side agrees (synchronously) on the same secret.
      Bytes other(p_len);
      word32 other_len = p_len;
      ASSERT_EQ(wc_DhAgree(sync_key.get(), other.data(), &other_len, theirs[i].priv.data(),
                           static_cast<word32>(theirs[i].priv.size()), mine[i].pub.data(),
                           static_cast<word32>(mine[i].pub.size())),
                0);
      other.resize(other_len);
      EXPECT_EQ(agree[i], other);
    }
  }
}

// Public values wolfCrypt has an answer for (0, 1, p - 1, p, larger), a zero
// private key, a short output buffer: software, wolfCrypt's exact result.
TEST(DpdkAsym, DhEdgeCasesRunInSoftwareWithWolfCryptsAnswer) {
  OPEN_OR_SKIP(dev);
  DH_ON_DRIVER_OR_SKIP();
  Rng rng;
  const word32 p_len = 256;
  DhKeyHolder sync_key(WC_FFDHE_2048, INVALID_DEVID);
  Bytes p(p_len);
  ASSERT_EQ(mp_to_unsigned_bin_len(&sync_key.get()->p, p.data(), static_cast<int>(p_len)), MP_OKAY);
  const DhPair pair = make_dh_pair(sync_key.get(), rng.get(), p_len);
  Bytes p_minus_1 = p;
  p_minus_1.back() = static_cast<std::uint8_t>(p_minus_1.back() - 1);
  Bytes p_plus_2 = p;
  p_plus_2.back() = static_cast<std::uint8_t>(p_plus_2.back() + 2);
  struct Case {
    const char* what;
    Bytes pub;
    Bytes priv;
    word32 agree_len;
  };
  std::vector<Case> cases = {
      {"public value 0", Bytes{0}, pair.priv, p_len},
      {"public value 1", Bytes{1}, pair.priv, p_len},
      {"public value p - 1", p_minus_1, pair.priv, p_len},
      {"public value p", p, pair.priv, p_len},
      {"public value p + 2", p_plus_2, pair.priv, p_len},
      {"private key 0", pair.pub, Bytes(32, 0), p_len},
      {"public value 2 (valid)", Bytes{2}, pair.priv, p_len},
  };
  for (auto& c : cases) {
    DhKeyHolder key(WC_FFDHE_2048, dev.id());
    c.pub.reserve(c.pub.size() + 1);
    c.priv.reserve(c.priv.size() + 1);
    Bytes agree(p_len + 8), want_agree(p_len + 8);
    word32 agree_len = c.agree_len, want_len = c.agree_len;
    int got = wc_DhAgree(key.get(), agree.data(), &agree_len, c.priv.data(),
                         static_cast<word32>(c.priv.size()), c.pub.data(),
                         static_cast<word32>(c.pub.size()));
    if (got == WC_PENDING_E) got = run_all({&key.get()->asyncDev})[0];
    const int want = wc_DhAgree(sync_key.get(), want_agree.data(), &want_len, c.priv.data(),
                                static_cast<word32>(c.priv.size()), c.pub.data(),
                                static_cast<word32>(c.pub.size()));
    EXPECT_EQ(got, want) << c.what;
    EXPECT_EQ(agree_len, want_len) << c.what;
    EXPECT_EQ(agree, want_agree) << c.what;
  }
}

// A shared secret of 1 (wolfCrypt's MP_VAL) computed by the driver is
// computed again by wolfCrypt, for its exact answer. It needs a composite
// "prime": p = 3 (2^2047 - 1) = 2^2048 + 2^2047 - 3 has the square root of 1
// y = 2^2048 - 3 (1 mod 3, -1 mod 2^2047 - 1), so y^2 mod p = 1.
TEST(DpdkAsym, DhSecretOfOneIsRecomputedInSoftware) {
  OPEN_OR_SKIP(dev);
  DH_ON_DRIVER_OR_SKIP();
  Bytes p(257, 0xff);
  p[0] = 0x01;
  p[1] = 0x7f;
  p[256] = 0xfd;
  Bytes y(256, 0xff);
  y[255] = 0xfd;
  const Bytes g = {2}, priv = {2};
  DhKey key, sync_key;
  ASSERT_EQ(wc_InitDhKey_ex(&key, nullptr, dev.id()), 0);
  ASSERT_EQ(wc_InitDhKey_ex(&sync_key, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_DhSetKey(&key, p.data(), 257, g.data(), 1), 0);
  ASSERT_EQ(wc_DhSetKey(&sync_key, p.data(), 257, g.data(), 1), 0);
  Bytes agree(264), want_agree(264);
  word32 agree_len = 264, want_len = 264;
  const auto soft = software(dev);
  const auto off = offloaded(dev);
  const auto bursts = dev.device()->dpdk_counters().bursts.load();
  ASSERT_EQ(wc_DhAgree(&key, agree.data(), &agree_len, priv.data(), 1, y.data(), 256),
            WC_PENDING_E);
  const int got = run_all({&key.asyncDev})[0];
  const int want =
      wc_DhAgree(&sync_key, want_agree.data(), &want_len, priv.data(), 1, y.data(), 256);
  EXPECT_EQ(want, MP_VAL);
  EXPECT_EQ(got, want);
  EXPECT_EQ(agree_len, want_len);
  EXPECT_GT(dev.device()->dpdk_counters().bursts.load(), bursts) << "the driver never saw it";
  EXPECT_EQ(software(dev), soft + 1) << "recomputed in software";
  EXPECT_EQ(offloaded(dev), off) << "the driver's 1 is not counted as a result";
  wc_FreeDhKey(&key);
  wc_FreeDhKey(&sync_key);
}

// DH key generation is wolfCrypt's (its private-key rules), in software; a
// generated pair then agrees on the device.
TEST(DpdkAsym, DhKeyGenerationStaysInSoftware) {
  OPEN_OR_SKIP(dev);
  Rng rng;
  DhKeyHolder key(WC_FFDHE_2048, dev.id());
  Bytes priv(256), pub(256);
  word32 priv_len = 256, pub_len = 256;
  const auto soft = software(dev);
  asynccrypt_DevStats stats{};
  ASSERT_EQ(asynccrypt_DevGetStats(dev.id(), &stats), 0);
  const word64 declined = stats.declined;
  // Not a type the driver takes: the device declines it, so wolfCrypt
  // computes it at once, without pending.
  int ret =
      wc_DhGenerateKeyPair(key.get(), rng.get(), priv.data(), &priv_len, pub.data(), &pub_len);
  ASSERT_EQ(ret, 0);
  EXPECT_EQ(software(dev), soft) << "never reached the device";
  ASSERT_EQ(asynccrypt_DevGetStats(dev.id(), &stats), 0);
  EXPECT_EQ(stats.declined, declined + 1);
  priv.resize(priv_len);
  pub.resize(pub_len);

  // The pair agrees with another on the device (in software without
  // dh=driver), as wolfCrypt does.
  DhKeyHolder sync_key(WC_FFDHE_2048, INVALID_DEVID);
  const DhPair other = make_dh_pair(sync_key.get(), rng.get(), 256);
  Bytes agree(256), expect(256);
  word32 agree_len = 256, expect_len = 256;
  const auto before = offloaded(dev);
  ret = wc_DhAgree(key.get(), agree.data(), &agree_len, priv.data(), priv_len, other.pub.data(),
                   static_cast<word32>(other.pub.size()));
  if (ret == WC_PENDING_E) ret = wc_AsyncWait(ret, &key.get()->asyncDev, WC_ASYNC_FLAG_NONE);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(offloaded(dev), before + (dh_on_driver() ? 1u : 0u));
  ASSERT_EQ(wc_DhAgree(sync_key.get(), expect.data(), &expect_len, other.priv.data(),
                       static_cast<word32>(other.priv.size()), pub.data(), pub_len),
            0);
  ASSERT_EQ(agree_len, expect_len);
  agree.resize(agree_len);
  expect.resize(expect_len);
  EXPECT_EQ(agree, expect);
}

}  // namespace

#endif  // ASYNCCRYPT_HAVE_DPDK
