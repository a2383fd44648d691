// Failure injection end to end: wolfCrypt calls (RSA, ECC, DH, AES) and TLS
// handshakes on chaos devices that fail some operations with WC_HW_E. Each
// call returns the injected error or a correct result, the objects keep
// working afterwards, and a failed handshake ends with an alert on both
// sides, never a hang.
#include "core/wolfssl_api.h"

#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "support/deadline.h"
#include "support/device_list.h"

namespace {

// How long both sides of a handshake may make no progress before it counts
// as hung (a healthy one waits at most for one delayed operation).
constexpr std::chrono::seconds kIdleLimit{10};

// Failing devices: chaos over each base of the shared device list
// (testing_support::all_devices(): its own simulator, the worker pool, dpdk)
// failing a share of operations, and one that fails every operation.
struct FailSpec {
  std::string name;
  std::string spec;
  bool fails_all;
  bool needs_dpdk;
};

const std::vector<FailSpec>& fail_specs() {
  static const std::vector<FailSpec> specs = [] {
    std::vector<FailSpec> v;
    for (const testing_support::DeviceCase& c : testing_support::all_devices()) {
      if (std::string_view(c.name).substr(0, 5) != "chaos") continue;
      v.push_back(
          {std::string(c.name) + "_fail20", std::string(c.spec) + ",fail=20", false, c.needs_dpdk});
    }
    v.push_back({"chaos_fail_all", "chaos:seed=10,fail=100", true, false});
    return v;
  }();
  return specs;
}

void PrintTo(const FailSpec& f, std::ostream* os) { *os << f.name << " (" << f.spec << ")"; }

// open_failing opens f's device into *id (or says in *skip why DPDK cannot
// start here).
void open_failing(const FailSpec& f, int* id, std::string* skip) {
  const testing_support::DeviceCase c{f.name.c_str(), f.spec.c_str(),
                                      testing_support::Pends::kEveryOp, f.needs_dpdk};
  asynccrypt::DeviceHandle dev;
  testing_support::open_case(c, &dev, skip);
  *id = dev.release();
}

constexpr int kRounds = 24;  // operations of each kind per device
constexpr word32 kAesSz = 2 * WC_ASYNC_THRESH_AES_GCM + 2 * WC_ASYNC_THRESH_AES_CBC;

// Tally of one kind of operation on one device.
struct Tally {
  int ok = 0;
  int failed = 0;
};

// wait_loop runs `op` in wolfCrypt's own retry loop (test.c's form): with
// CALL_AGAIN the call is repeated after each completion to collect its
// result; with NONE the completion is the result.
int wait_loop(WC_ASYNC_DEV* dev, int flags, const std::function<int()>& op) {
  if (flags == WC_ASYNC_FLAG_NONE) return wc_AsyncWait(op(), dev, WC_ASYNC_FLAG_NONE);
  int ret = 0;
  int guard = 0;
  do {
    ret = wc_AsyncWait(ret, dev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) ret = op();
  } while (ret == WC_PENDING_E && ++guard < 1000);
  return ret;
}

class FailureInjectionTest : public ::testing::TestWithParam<FailSpec> {
 protected:
  void SetUp() override {
    std::string skip;
    open_failing(GetParam(), &dev_id_, &skip);
    if (!skip.empty()) DPDK_UNAVAILABLE(skip);
    ASSERT_NE(dev_id_, INVALID_DEVID);
    rng_ready_ = true;
    ASSERT_EQ(wc_InitRng(&rng_), 0);
  }
  void TearDown() override {
    if (rng_ready_) wc_FreeRng(&rng_);
    wolfAsync_DevClose(&dev_id_);
  }

  // record checks one result: the injected error, or success with a
  // correct output (`correct` is only asked on success).
  void record(const char* what, int ret, bool correct, Tally* t) {
    if (ret == WC_HW_E) {
      ++t->failed;
      return;
    }
    EXPECT_EQ(ret, 0) << what << " on " << GetParam().spec;
    if (ret != 0) return;
    EXPECT_TRUE(correct) << what << ": wrong result after success on " << GetParam().spec;
    ++t->ok;
  }

  // expect_mix: a device that fails everything only fails; the others both
  // fail and succeed within kRounds. Deterministic: the chaos device draws
  // once per operation, in submission order, from its fixed seed, also when
  // it runs over the worker pool.
  void expect_mix(const char* what, const Tally& t, int rounds = kRounds) {
    EXPECT_EQ(t.ok + t.failed, rounds) << what;
    if (GetParam().fails_all) {
      EXPECT_EQ(t.failed, rounds) << what;
    } else {
      EXPECT_GT(t.failed, 0) << what << ": no failure injected";
      EXPECT_GT(t.ok, 0) << what << ": nothing succeeded";
    }
  }

  int dev_id_ = INVALID_DEVID;
  bool rng_ready_ = false;
  WC_RNG rng_;
};

TEST_P(FailureInjectionTest, AesGcmAndCbc) {
  Aes gcm, cbc, ref;
  const byte key[16] = {1, 2, 3, 4, 5};
  const byte iv[16] = {9, 9, 9};
  std::vector<byte> in(kAesSz), out(kAesSz), want(kAesSz);
  for (word32 i = 0; i < kAesSz; ++i) in[i] = static_cast<byte>(i * 7);
  byte tag[16], want_tag[16];
  ASSERT_EQ(wc_AesInit(&gcm, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_AesInit(&cbc, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_AesInit(&ref, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&gcm, key, sizeof key), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&ref, key, sizeof key), 0);
  ASSERT_EQ(
      wc_AesGcmEncrypt(&ref, want.data(), in.data(), kAesSz, iv, 12, want_tag, 16, nullptr, 0), 0);
  Tally t_gcm;
  for (int i = 0; i < kRounds; ++i) {
    std::fill(out.begin(), out.end(), 0);
    const int ret = wait_loop(&gcm.asyncDev, WC_ASYNC_FLAG_NONE, [&] {
      return wc_AesGcmEncrypt(&gcm, out.data(), in.data(), kAesSz, iv, 12, tag, 16, nullptr, 0);
    });
    record("AES-GCM encrypt", ret, out == want && std::memcmp(tag, want_tag, 16) == 0, &t_gcm);
  }
  expect_mix("AES-GCM encrypt", t_gcm);

  // CBC chains its IV through the object: reset it before each operation,
  // so that a failed operation (which did not run) leaves nothing behind.
  ASSERT_EQ(wc_AesSetKey(&ref, key, sizeof key, iv, AES_ENCRYPTION), 0);
  ASSERT_EQ(wc_AesCbcEncrypt(&ref, want.data(), in.data(), kAesSz), 0);
  Tally t_cbc;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_EQ(wc_AesSetKey(&cbc, key, sizeof key, iv, AES_ENCRYPTION), 0);
    std::fill(out.begin(), out.end(), 0);
    const int ret = wait_loop(&cbc.asyncDev, WC_ASYNC_FLAG_NONE, [&] {
      return wc_AesCbcEncrypt(&cbc, out.data(), in.data(), kAesSz);
    });
    record("AES-CBC encrypt", ret, out == want, &t_cbc);
  }
  expect_mix("AES-CBC encrypt", t_cbc);
  wc_AesFree(&gcm);
  wc_AesFree(&cbc);
  wc_AesFree(&ref);
}

// RSA keeps its own state machine (key->state) across WC_PENDING_E, as ECC
// does (docs/known-issues.md, 5). The keys are not re-initialised after an
// injected failure: the layer resets their state (wolfcrypt/failed_op.h),
// so each next call must be right as it is.
struct RsaKeyOn {
  RsaKeyOn(int dev_id, WC_RNG* rng) : dev_id_(dev_id), rng_(rng) { load(); }
  ~RsaKeyOn() { wc_FreeRsaKey(&key); }
  RsaKeyOn(const RsaKeyOn&) = delete;
  RsaKeyOn& operator=(const RsaKeyOn&) = delete;
  void load() {
    EXPECT_EQ(wc_InitRsaKey_ex(&key, nullptr, dev_id_), 0);
    word32 idx = 0;
    EXPECT_EQ(wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, &key, sizeof_client_key_der_2048),
              0);
    EXPECT_EQ(wc_RsaSetRNG(&key, rng_), 0);
  }
  RsaKey key;

 private:
  int dev_id_;
  WC_RNG* rng_;
};

TEST_P(FailureInjectionTest, RsaSignAndVerify) {
  RsaKeyOn rsa(dev_id_, &rng_);
  RsaKeyOn ref(INVALID_DEVID, &rng_);
  const byte msg[32] = {0xA5, 1, 2, 3};
  byte want[256];
  ASSERT_EQ(wc_RsaSSL_Sign(msg, sizeof msg, want, sizeof want, &ref.key, &rng_), 256);
  Tally t_sign, t_verify;
  for (int i = 0; i < kRounds; ++i) {
    byte sig[256] = {};
    int ret = wait_loop(&rsa.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
      return wc_RsaSSL_Sign(msg, sizeof msg, sig, sizeof sig, &rsa.key, &rng_);
    });
    if (ret >= 0) {
      EXPECT_EQ(ret, 256);
      ret = 0;
    }
    record("RSA sign", ret, std::memcmp(sig, want, sizeof want) == 0, &t_sign);

    byte plain[256] = {};
    ret = wait_loop(&rsa.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
      return wc_RsaSSL_Verify(want, sizeof want, plain, sizeof plain, &rsa.key);
    });
    if (ret >= 0) {
      EXPECT_EQ(ret, static_cast<int>(sizeof msg));
      ret = 0;
    }
    record("RSA verify", ret, std::memcmp(plain, msg, sizeof msg) == 0, &t_verify);
  }
  expect_mix("RSA sign", t_sign);
  expect_mix("RSA verify", t_verify);
}

// wolfCrypt's RSA state machine after a failed asynchronous operation
// (docs/known-issues.md, 5): left alone, the key still waits for the
// failed operation's result, so its next signature "succeeds" without
// signing (the stale length, the padded message as output) and a
// verification answers BAD_STATE_E. asynccrypt resets the key when an
// operation fails (wolfcrypt/failed_op.h): the very next call is right.
TEST(RsaFailureState, NextCallAfterAFailedOperationIsRight) {
  int fail_id = INVALID_DEVID, ok_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&fail_id, "chaos:seed=31,fail=100", nullptr), 0);
  ASSERT_EQ(asynccrypt_DevOpenSpec(&ok_id, "chaos:seed=32", nullptr), 0);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  {
    RsaKeyOn rsa(fail_id, &rng);
    RsaKeyOn ref(INVALID_DEVID, &rng);
    const byte msg[32] = {1};
    byte want[256], sig[256], plain[256];
    ASSERT_EQ(wc_RsaSSL_Sign(msg, sizeof msg, want, sizeof want, &ref.key, &rng), 256);
    auto sign = [&] {
      std::memset(sig, 0, sizeof sig);
      return wait_loop(&rsa.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
        return wc_RsaSSL_Sign(msg, sizeof msg, sig, sizeof sig, &rsa.key, &rng);
      });
    };
    auto verify = [&] {
      return wait_loop(&rsa.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
        return wc_RsaSSL_Verify(want, sizeof want, plain, sizeof plain, &rsa.key);
      });
    };
    EXPECT_EQ(sign(), WC_HW_E);
    rsa.key.asyncDev.devId = ok_id;  // the same key, now on a working device
    EXPECT_EQ(sign(), 256);
    EXPECT_EQ(std::memcmp(sig, want, sizeof want), 0) << "a stale signature after a failure";

    rsa.key.asyncDev.devId = fail_id;
    EXPECT_EQ(sign(), WC_HW_E);
    rsa.key.asyncDev.devId = ok_id;
    std::memset(plain, 0, sizeof plain);
    EXPECT_EQ(verify(), static_cast<int>(sizeof msg));
    EXPECT_EQ(std::memcmp(plain, msg, sizeof msg), 0);

    // A decryption keeps a copy of its input in the key while it pends;
    // after a failure the next decryption must not find it there.
    byte secret[256];
    WC_RNG enc_rng;
    ASSERT_EQ(wc_InitRng(&enc_rng), 0);
    const int secret_len =
        wc_RsaPublicEncrypt(msg, sizeof msg, secret, sizeof secret, &ref.key, &enc_rng);
    wc_FreeRng(&enc_rng);
    ASSERT_EQ(secret_len, 256);
    auto decrypt = [&] {
      std::memset(plain, 0, sizeof plain);
      return wait_loop(&rsa.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
        return wc_RsaPrivateDecrypt(secret, sizeof secret, plain, sizeof plain, &rsa.key);
      });
    };
    rsa.key.asyncDev.devId = fail_id;
    EXPECT_EQ(decrypt(), WC_HW_E);
    rsa.key.asyncDev.devId = ok_id;
    EXPECT_EQ(decrypt(), static_cast<int>(sizeof msg));
    EXPECT_EQ(std::memcmp(plain, msg, sizeof msg), 0);
  }
  wc_FreeRng(&rng);
  wolfAsync_DevClose(&ok_id);
  wolfAsync_DevClose(&fail_id);
}

struct EccKeyOn {
  EccKeyOn(int dev_id, WC_RNG* rng) : dev_id_(dev_id), rng_(rng) { load(); }
  ~EccKeyOn() { wc_ecc_free(&key); }
  EccKeyOn(const EccKeyOn&) = delete;
  EccKeyOn& operator=(const EccKeyOn&) = delete;
  void load() {
    EXPECT_EQ(wc_ecc_init_ex(&key, nullptr, dev_id_), 0);
    word32 idx = 0;
    EXPECT_EQ(wc_EccPrivateKeyDecode(ecc_key_der_256, &idx, &key, sizeof_ecc_key_der_256), 0);
    EXPECT_EQ(wc_ecc_set_rng(&key, rng_), 0);  // ECDH with timing resistance
  }
  ecc_key key;

 private:
  int dev_id_;
  WC_RNG* rng_;
};

TEST_P(FailureInjectionTest, EccSignVerifyAndSharedSecret) {
  EccKeyOn ecc(dev_id_, &rng_);
  EccKeyOn ref(INVALID_DEVID, &rng_);
  // A peer key, made without a device.
  ecc_key peer;
  ASSERT_EQ(wc_ecc_init_ex(&peer, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_ecc_make_key(&rng_, 32, &peer), 0);
  byte want_secret[32];
  word32 want_len = sizeof want_secret;
  ASSERT_EQ(wc_ecc_shared_secret(&ref.key, &peer, want_secret, &want_len), 0);

  const byte hash[32] = {0x5A, 7, 7, 7};
  Tally t_sign, t_verify, t_secret;
  for (int i = 0; i < kRounds; ++i) {
    byte sig[128] = {};
    word32 sig_len = 0;
    int ret = wait_loop(&ecc.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
      sig_len = sizeof sig;
      return wc_ecc_sign_hash(hash, sizeof hash, sig, &sig_len, &rng_, &ecc.key);
    });
    int verified = 0;
    const bool sig_ok =
        ret == 0 && wc_ecc_verify_hash(sig, sig_len, hash, sizeof hash, &verified, &ref.key) == 0 &&
        verified == 1;
    record("ECDSA sign", ret, sig_ok, &t_sign);

    // Verify a signature made without a device.
    byte good[128];
    word32 good_len = sizeof good;
    ASSERT_EQ(wc_ecc_sign_hash(hash, sizeof hash, good, &good_len, &rng_, &ref.key), 0);
    verified = -1;
    ret = wait_loop(&ecc.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
      return wc_ecc_verify_hash(good, good_len, hash, sizeof hash, &verified, &ecc.key);
    });
    record("ECDSA verify", ret, verified == 1, &t_verify);

    byte secret[32] = {};
    word32 secret_len = 0;
    ret = wait_loop(&ecc.key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN, [&] {
      secret_len = sizeof secret;
      return wc_ecc_shared_secret(&ecc.key, &peer, secret, &secret_len);
    });
    record("ECDH", ret, secret_len == want_len && std::memcmp(secret, want_secret, want_len) == 0,
           &t_secret);
  }
  expect_mix("ECDSA sign", t_sign);
  expect_mix("ECDSA verify", t_verify);
  expect_mix("ECDH", t_secret);
  wc_ecc_free(&peer);
}

TEST_P(FailureInjectionTest, DhKeyPairAndAgree) {
  DhKey dh, ref;
  ASSERT_EQ(wc_InitDhKey_ex(&dh, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_InitDhKey_ex(&ref, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_DhSetNamedKey(&dh, WC_FFDHE_2048), 0);
  ASSERT_EQ(wc_DhSetNamedKey(&ref, WC_FFDHE_2048), 0);
  // The peer's pair, made without a device.
  byte peer_priv[256], peer_pub[256];
  word32 peer_priv_len = sizeof peer_priv, peer_pub_len = sizeof peer_pub;
  ASSERT_EQ(wc_DhGenerateKeyPair(&ref, &rng_, peer_priv, &peer_priv_len, peer_pub, &peer_pub_len),
            0);

  Tally t_gen, t_agree;
  for (int i = 0; i < kRounds; ++i) {
    byte priv[256] = {}, pub[256] = {};
    word32 priv_len = sizeof priv, pub_len = sizeof pub;
    int ret = wait_loop(&dh.asyncDev, WC_ASYNC_FLAG_NONE, [&] {
      return wc_DhGenerateKeyPair(&dh, &rng_, priv, &priv_len, pub, &pub_len);
    });
    // A correct pair: both sides derive the same secret.
    byte s1[256] = {}, s2[256] = {};
    word32 s1_len = sizeof s1, s2_len = sizeof s2;
    bool pair_ok = false;
    if (ret == 0) {
      pair_ok = wc_DhAgree(&ref, s1, &s1_len, priv, priv_len, peer_pub, peer_pub_len) == 0 &&
                wc_DhAgree(&ref, s2, &s2_len, peer_priv, peer_priv_len, pub, pub_len) == 0 &&
                s1_len == s2_len && std::memcmp(s1, s2, s1_len) == 0;
    }
    record("DH key pair", ret, pair_ok, &t_gen);
    if (ret != 0) continue;

    // Agreement on the device, against the reference computed above.
    byte secret[256] = {};
    word32 secret_len = sizeof secret;
    ret = wait_loop(&dh.asyncDev, WC_ASYNC_FLAG_NONE, [&] {
      return wc_DhAgree(&dh, secret, &secret_len, priv, priv_len, peer_pub, peer_pub_len);
    });
    record("DH agree", ret, secret_len == s1_len && std::memcmp(secret, s1, s1_len) == 0, &t_agree);
  }
  expect_mix("DH key pair", t_gen);
  if (!GetParam().fails_all) {
    EXPECT_GT(t_agree.ok, 0);
  }
  wc_FreeDhKey(&dh);
  wc_FreeDhKey(&ref);
}

// ---------------------------------------------------------------------------
// TLS: an in-memory client and server, one of them (or both) on a device
// that fails operations. The handshake must end, on both sides, with an
// error (the failing side sends an alert, the peer reports it) and never
// hang; the connections and contexts are freed cleanly.
// ---------------------------------------------------------------------------

struct Pipe {
  std::deque<byte> c2s;
  std::deque<byte> s2c;
  bool c2s_closed = false;  // the client's side was freed
  bool s2c_closed = false;
};

int pipe_recv(std::deque<byte>& from, bool closed, char* buf, int sz) {
  if (from.empty()) return closed ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
  const int n = std::min<int>(sz, static_cast<int>(from.size()));
  std::copy_n(from.begin(), n, buf);
  from.erase(from.begin(), from.begin() + n);
  return n;
}
int client_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto& q = static_cast<Pipe*>(ctx)->c2s;
  q.insert(q.end(), buf, buf + sz);
  return sz;
}
int server_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto& q = static_cast<Pipe*>(ctx)->s2c;
  q.insert(q.end(), buf, buf + sz);
  return sz;
}
int client_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  return pipe_recv(p->s2c, p->s2c_closed, buf, sz);
}
int server_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  return pipe_recv(p->c2s, p->c2s_closed, buf, sz);
}

// Outcome of one handshake attempt.
struct HandshakeResult {
  bool client_ok = false;
  bool server_ok = false;
  int client_err = 0;  // wolfSSL_get_error after a failure
  int server_err = 0;
  bool hung = false;
};

class TlsFailureTest : public ::testing::TestWithParam<std::tuple<FailSpec, bool>> {
 protected:
  void SetUp() override {
    wolfSSL_Init();
    std::string skip;
    open_failing(std::get<0>(GetParam()), &fail_id_, &skip);
    if (!skip.empty()) DPDK_UNAVAILABLE(skip);
    ASSERT_NE(fail_id_, INVALID_DEVID);
    const bool tls12 = std::get<1>(GetParam());
    cctx_ = wolfSSL_CTX_new(tls12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method());
    sctx_ = wolfSSL_CTX_new(tls12 ? wolfTLSv1_2_server_method() : wolfTLSv1_3_server_method());
    ASSERT_NE(cctx_, nullptr);
    ASSERT_NE(sctx_, nullptr);
    wolfSSL_CTX_set_verify(cctx_, WOLFSSL_VERIFY_NONE, nullptr);
    ASSERT_EQ(wolfSSL_CTX_use_certificate_buffer(
                  sctx_, server_cert_der_2048, sizeof_server_cert_der_2048, WOLFSSL_FILETYPE_ASN1),
              WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_buffer(sctx_, server_key_der_2048,
                                                sizeof_server_key_der_2048, WOLFSSL_FILETYPE_ASN1),
              WOLFSSL_SUCCESS);
    // Both sides on the failing device.
    ASSERT_EQ(wolfSSL_CTX_SetDevId(cctx_, fail_id_), WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_CTX_SetDevId(sctx_, fail_id_), WOLFSSL_SUCCESS);
    wolfSSL_CTX_SetIORecv(cctx_, client_recv);
    wolfSSL_CTX_SetIOSend(cctx_, client_send);
    wolfSSL_CTX_SetIORecv(sctx_, server_recv);
    wolfSSL_CTX_SetIOSend(sctx_, server_send);
  }
  void TearDown() override {
    wolfSSL_CTX_free(cctx_);
    wolfSSL_CTX_free(sctx_);
    wolfAsync_DevClose(&fail_id_);
  }

  // handshake runs one client/server pair until both are done or failed.
  // A side that failed closes its end of the pipe (the peer then sees its
  // alert, followed by a closed connection), as a socket would.
  HandshakeResult handshake() {
    Pipe pipe;
    WOLFSSL* client = wolfSSL_new(cctx_);
    WOLFSSL* server = wolfSSL_new(sctx_);
    EXPECT_NE(client, nullptr);
    EXPECT_NE(server, nullptr);
    wolfSSL_SetIOReadCtx(client, &pipe);
    wolfSSL_SetIOWriteCtx(client, &pipe);
    wolfSSL_SetIOReadCtx(server, &pipe);
    wolfSSL_SetIOWriteCtx(server, &pipe);
    HandshakeResult r;
    bool client_end = false, server_end = false;
    // Both sides can wait for data while a worker still runs an operation
    // (chaos over threads, delayed): no progress is a hang only after
    // seconds, never after a number of steps, which a loaded machine's
    // scheduler decides.
    testing_support::Deadline idle_deadline(kIdleLimit);
    const testing_support::Deadline deadline;
    while (!deadline.passed() && !(client_end && server_end)) {
      bool progress = false;
      for (int side = 0; side < 2; ++side) {
        WOLFSSL* ssl = side == 0 ? client : server;
        bool& end = side == 0 ? client_end : server_end;
        if (end) continue;
        const int ret = side == 0 ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl);
        if (ret == WOLFSSL_SUCCESS) {
          (side == 0 ? r.client_ok : r.server_ok) = true;
          end = true;
          progress = true;
          continue;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (err == WC_PENDING_E) {
          EXPECT_GE(wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW), 0);
          progress = true;
          continue;
        }
        if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) continue;
        (side == 0 ? r.client_err : r.server_err) = err;
        (side == 0 ? pipe.c2s_closed : pipe.s2c_closed) = true;
        end = true;
        progress = true;
      }
      // Both sides waiting for data that never comes: a hang.
      if (progress) {
        idle_deadline = testing_support::Deadline(kIdleLimit);
      } else if (idle_deadline.passed()) {
        break;
      }
    }
    r.hung = !(client_end && server_end);
    wolfSSL_free(client);
    wolfSSL_free(server);
    return r;
  }

  int fail_id_ = INVALID_DEVID;
  WOLFSSL_CTX* cctx_ = nullptr;
  WOLFSSL_CTX* sctx_ = nullptr;
};

// An error that a failed peer's alert (or its closed connection) explains.
bool peer_failure(int err) {
  return err == FATAL_ERROR || err == SOCKET_PEER_CLOSED_E || err == SOCKET_ERROR_E ||
         err == WOLFSSL_ERROR_ZERO_RETURN;
}

TEST_P(TlsFailureTest, FailedCryptoEndsTheHandshakeWithAnAlert) {
  const bool fails_all = std::get<0>(GetParam()).fails_all;
  const int attempts = fails_all ? 4 : 30;
  int ok = 0, failed = 0, hw_errors = 0, peer_alerts = 0;
  for (int i = 0; i < attempts; ++i) {
    const HandshakeResult r = handshake();
    ASSERT_FALSE(r.hung) << "handshake " << i << " hung on " << std::get<0>(GetParam()).spec;
    if (r.client_ok && r.server_ok) {
      ++ok;
      continue;
    }
    ++failed;
    // One side saw the device's error; the other saw the alert or the
    // closed connection, never a silent success followed by nothing.
    const bool client_hw = r.client_err == WC_HW_E;
    const bool server_hw = r.server_err == WC_HW_E;
    EXPECT_TRUE(client_hw || server_hw) << "client " << r.client_err << ", server " << r.server_err;
    if (client_hw) ++hw_errors;
    if (server_hw) ++hw_errors;
    if (client_hw && !server_hw && !r.server_ok) {
      EXPECT_TRUE(peer_failure(r.server_err)) << "server error " << r.server_err;
      if (r.server_err == FATAL_ERROR) ++peer_alerts;
    }
    if (server_hw && !client_hw && !r.client_ok) {
      EXPECT_TRUE(peer_failure(r.client_err)) << "client error " << r.client_err;
      if (r.client_err == FATAL_ERROR) ++peer_alerts;
    }
  }
  std::printf(
      "%s %s: %d handshakes completed, %d failed (%d WC_HW_E seen, %d peers got an alert)\n",
      std::get<0>(GetParam()).spec.c_str(), std::get<1>(GetParam()) ? "TLS 1.2" : "TLS 1.3", ok,
      failed, hw_errors, peer_alerts);
  if (fails_all) {
    EXPECT_EQ(ok, 0);
  } else {
    EXPECT_GT(ok, 0) << "no handshake succeeded";
  }
  EXPECT_GT(failed, 0) << "no handshake failed";
  EXPECT_GT(hw_errors, 0);
}

// The error text an application would print names the device failure.
TEST(TlsFailureMessage, HardwareErrorHasAClearString) {
  char text[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(WC_HW_E), text, sizeof text);
  EXPECT_NE(std::string(text).find("hardware"), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(Devices, FailureInjectionTest, ::testing::ValuesIn(fail_specs()),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(Devices, TlsFailureTest,
                         ::testing::Combine(::testing::ValuesIn(fail_specs()), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param).name +
                                  (std::get<1>(info.param) ? "_tls12" : "_tls13");
                         });

}  // namespace
