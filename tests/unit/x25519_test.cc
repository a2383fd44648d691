// Asynchronous X25519 (wolfSSL 5.9): key generation and shared secret on every device kind,
// identical to synchronous wolfCrypt, and freeing keys and connections with an X25519
// operation in flight (glue/async.c's wc_curve25519_free hook).
//
// They need wolfSSL 5.9 or later configured with --enable-curve25519 (make x25519; the shared
// secret pends only with --enable-curve25519=nonblock: make nonblock); elsewhere they skip.
#include "core/wolfssl_api.h"

#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/random.h>
#ifdef HAVE_CURVE25519
#include <wolfssl/wolfcrypt/curve25519.h>
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "asynccrypt/device.h"
#include "support/device_list.h"
#include "support/test_queue.h"
#include "support/tls_pipe.h"

namespace {

#if defined(HAVE_CURVE25519) && defined(WC_ASYNC_ENABLE_X25519) && \
    LIBWOLFSSL_VERSION_HEX >= 0x05009000 && !defined(WOLFCRYPT_ONLY)
#define ASYNCCRYPT_TEST_X25519 1
#endif

#ifdef ASYNCCRYPT_TEST_X25519

using Bytes = std::vector<byte>;

// Every device kind of the shared list (dpdk's drivers have no X25519: it
// runs it in software).
class X25519 : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(wc_InitRng(&rng_), 0);
    rng_ready_ = true;
  }
  void TearDown() override {
    if (rng_ready_) wc_FreeRng(&rng_);
  }

  // Generates key on the device (pending or declined), waiting as
  // wolfCrypt's callers do; returns the final result.
  int make_key(curve25519_key* key) {
    int ret = wc_curve25519_init_ex(key, nullptr, dev_.id());
    if (ret != 0) return ret;
    ret = wc_curve25519_make_key(&rng_, CURVE25519_KEYSIZE, key);
    if (ret == WC_PENDING_E) {
      ++pended_;
      ret = wc_AsyncWait(ret, &key->asyncDev, WC_ASYNC_FLAG_NONE);
    }
    return ret;
  }

  // The shared secret of priv and pub, through the device when wolfCrypt
  // records it (non-blocking X25519), waiting and calling again.
  int shared_secret(curve25519_key* priv, curve25519_key* pub, Bytes* out) {
    out->assign(CURVE25519_KEYSIZE, 0);
    word32 len = CURVE25519_KEYSIZE;
    int ret = wc_curve25519_shared_secret(priv, pub, out->data(), &len);
    if (ret == WC_PENDING_E) {
      ++pended_;
      ret = wc_AsyncWait(ret, &priv->asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    }
    out->resize(len);
    return ret;
  }

  WC_RNG rng_;
  bool rng_ready_ = false;
  int pended_ = 0;
};

// The public key that synchronous wolfCrypt derives from key's private key
// (wc_curve25519_make_pub works on little-endian values).
Bytes public_of(curve25519_key* key) {
  Bytes priv(CURVE25519_KEYSIZE);
  word32 len = CURVE25519_KEYSIZE;
  EXPECT_EQ(wc_curve25519_export_private_raw_ex(key, priv.data(), &len, EC25519_LITTLE_ENDIAN), 0);
  Bytes pub(CURVE25519_KEYSIZE);
  EXPECT_EQ(wc_curve25519_make_pub(CURVE25519_KEYSIZE, pub.data(), CURVE25519_KEYSIZE, priv.data()),
            0);
  return pub;
}

Bytes exported_public(curve25519_key* key) {
  Bytes pub(CURVE25519_KEYSIZE);
  word32 len = CURVE25519_KEYSIZE;
  EXPECT_EQ(wc_curve25519_export_public_ex(key, pub.data(), &len, EC25519_LITTLE_ENDIAN), 0);
  return pub;
}

// A synchronous copy of key (no device).
void sync_copy(curve25519_key* key, curve25519_key* copy) {
  Bytes priv(CURVE25519_KEYSIZE);
  Bytes pub(CURVE25519_KEYSIZE);
  word32 priv_len = CURVE25519_KEYSIZE;
  word32 pub_len = CURVE25519_KEYSIZE;
  ASSERT_EQ(wc_curve25519_export_key_raw(key, priv.data(), &priv_len, pub.data(), &pub_len), 0);
  ASSERT_EQ(wc_curve25519_init(copy), 0);
  ASSERT_EQ(wc_curve25519_import_private_raw(priv.data(), priv_len, pub.data(), pub_len, copy), 0);
}

TEST_P(X25519, KeysAndSecretsMatchSynchronousWolfCrypt) {
  constexpr int kKeys = 6;
  curve25519_key keys[kKeys];
  for (auto& key : keys) {
    ASSERT_EQ(make_key(&key), 0);
    EXPECT_EQ(exported_public(&key), public_of(&key)) << "public key of the private key";
#ifdef WOLFSSL_CURVE25519_BLINDING
    EXPECT_EQ(key.rng, &rng_) << "the key keeps the caller's RNG, never a worker's";
#endif
  }
  for (int i = 0; i + 1 < kKeys; i += 2) {
    Bytes ab;
    Bytes ba;
    ASSERT_EQ(shared_secret(&keys[i], &keys[i + 1], &ab), 0);
    ASSERT_EQ(shared_secret(&keys[i + 1], &keys[i], &ba), 0);
    EXPECT_EQ(ab, ba);
    curve25519_key a;
    curve25519_key b;
    sync_copy(&keys[i], &a);
    sync_copy(&keys[i + 1], &b);
    Bytes expected(CURVE25519_KEYSIZE);
    word32 len = CURVE25519_KEYSIZE;
#ifdef WOLFSSL_CURVE25519_BLINDING
    wc_curve25519_set_rng(&a, &rng_);
#endif
    ASSERT_EQ(wc_curve25519_shared_secret(&a, &b, expected.data(), &len), 0);
    EXPECT_EQ(ab, expected);
    wc_curve25519_free(&a);
    wc_curve25519_free(&b);
  }
  for (auto& key : keys) wc_curve25519_free(&key);
  if (GetParam().pends == testing_support::Pends::kEveryOp) {
    EXPECT_GT(pended_, 0) << "X25519 went through the device";
  }
}

TEST_P(X25519, ManyKeysInFlightOnOneQueue) {
  constexpr int kKeys = 16;
  std::vector<curve25519_key> keys(kKeys);
  std::vector<WC_ASYNC_DEV*> pending;
  for (auto& key : keys) {
    ASSERT_EQ(wc_curve25519_init_ex(&key, nullptr, dev_.id()), 0);
    const int ret = wc_curve25519_make_key(&rng_, CURVE25519_KEYSIZE, &key);
    if (ret == WC_PENDING_E) {
      pending.push_back(&key.asyncDev);
    } else {
      ASSERT_EQ(ret, 0);
    }
  }
  for (int r : testing_support::run_all(pending)) EXPECT_EQ(r, 0);
  for (auto& key : keys) {
    EXPECT_EQ(exported_public(&key), public_of(&key));
    wc_curve25519_free(&key);
  }
}

// wc_curve25519_free does not cancel by itself (a wolfSSL 5.9 bug): the
// glue's hook must, or the queue keeps a freed event and a worker writes
// into freed memory (AddressSanitizer reports it).
TEST_P(X25519, FreeingAKeyWithAnOperationInFlightCancelsIt) {
  asynccrypt::EventQueue queue = testing_support::new_queue();
  constexpr int kKeys = 8;
  int queued = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto* key = static_cast<curve25519_key*>(
        XMALLOC(sizeof(curve25519_key), nullptr, DYNAMIC_TYPE_CURVE25519));
    ASSERT_NE(key, nullptr);
    ASSERT_EQ(wc_curve25519_init_ex(key, nullptr, dev_.id()), 0);
    const int ret = wc_curve25519_make_key(&rng_, CURVE25519_KEYSIZE, key);
    if (ret == WC_PENDING_E) {
      ASSERT_EQ(wc_AsyncHandle(&key->asyncDev, queue.get(), WC_ASYNC_FLAG_NONE), 0);
      ++queued;
    }
    wc_curve25519_free(key);  // with the operation queued or running
    XFREE(key, nullptr, DYNAMIC_TYPE_CURVE25519);
  }
  // Nothing freed is ever reported.
  for (int spin = 0; spin < 200; ++spin) {
    WOLF_EVENT* events[16];
    const auto polled = queue.poll(events, 16);
    ASSERT_TRUE(polled) << polled.error().describe();
    EXPECT_EQ(*polled, 0);
  }
  EXPECT_EQ(queue.get()->count, 0) << queued << " queued, none left linked";
}

INSTANTIATE_TEST_SUITE_P(Devices, X25519, ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

// In-memory TLS 1.3 with the X25519 key share, client and server in one
// thread on one device.
using testing_support::handshake_step;
using testing_support::Pipe;
using testing_support::pipe_read;
using testing_support::pipe_write;

class X25519Tls : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    sctx_ = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
    cctx_ = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    ASSERT_NE(sctx_, nullptr);
    ASSERT_NE(cctx_, nullptr);
    const std::string certs = std::string(ASYNCCRYPT_WOLFSSL_CERTS_DIR);
    ASSERT_EQ(wolfSSL_CTX_use_certificate_file(sctx_, (certs + "/server-cert.pem").c_str(),
                                               WOLFSSL_FILETYPE_PEM),
              WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_file(sctx_, (certs + "/server-key.pem").c_str(),
                                              WOLFSSL_FILETYPE_PEM),
              WOLFSSL_SUCCESS);
    wolfSSL_CTX_set_verify(cctx_, WOLFSSL_VERIFY_NONE, nullptr);
    for (WOLFSSL_CTX* c : {sctx_, cctx_}) {
      ASSERT_EQ(wolfSSL_CTX_SetDevId(c, dev_.id()), WOLFSSL_SUCCESS);
      wolfSSL_SetIORecv(c, pipe_read);
      wolfSSL_SetIOSend(c, pipe_write);
    }
  }
  void TearDown() override {
    wolfSSL_CTX_free(cctx_);
    wolfSSL_CTX_free(sctx_);
  }

  // A connected client/server pair offering only X25519.
  void pair(WOLFSSL** client, WOLFSSL** server) {
    *server = wolfSSL_new(sctx_);
    *client = wolfSSL_new(cctx_);
    ASSERT_NE(*server, nullptr);
    ASSERT_NE(*client, nullptr);
    int groups[] = {WOLFSSL_ECC_X25519};
    ASSERT_EQ(wolfSSL_set_groups(*client, groups, 1), WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_set_groups(*server, groups, 1), WOLFSSL_SUCCESS);
    // The first group is the client's key share, generated by its first
    // wolfSSL_connect (wolfSSL_UseKeyShare would generate it at once, and
    // pend).
    wolfSSL_SetIOReadCtx(*server, &to_server_);
    wolfSSL_SetIOWriteCtx(*server, &to_client_);
    wolfSSL_SetIOReadCtx(*client, &to_client_);
    wolfSSL_SetIOWriteCtx(*client, &to_server_);
  }

  // Runs the pair's handshake to its end on this thread; both must succeed.
  void handshake(WOLFSSL* client, WOLFSSL* server) {
    int c = 0;
    int s = 0;
    int pending = 0;
    for (int i = 0; i < 1'000'000 && (c != 1 || s != 1); ++i) {
      if (c != 1) c = handshake_step(client, true, &pending);
      if (s != 1) s = handshake_step(server, false, &pending);
      ASSERT_GE(c, 0);
      ASSERT_GE(s, 0);
    }
    EXPECT_EQ(c, 1);
    EXPECT_EQ(s, 1);
  }

  WOLFSSL_CTX* sctx_ = nullptr;
  WOLFSSL_CTX* cctx_ = nullptr;
  Pipe to_server_;
  Pipe to_client_;
};

TEST_P(X25519Tls, HandshakeWithX25519KeyShare) {
  WOLFSSL* client = nullptr;
  WOLFSSL* server = nullptr;
  pair(&client, &server);
  handshake(client, server);
  EXPECT_STREQ(wolfSSL_get_curve_name(client), "X25519");
  asynccrypt_SslDrain(client);
  asynccrypt_SslDrain(server);
  wolfSSL_free(client);
  wolfSSL_free(server);
}

// wolfSSL_free in mid-handshake, while the client's X25519 key generation
// is pending (queued, or running on a worker): the key share's key is
// freed by wc_curve25519_free without wolfAsync_DevCtxFree (a wolfSSL 5.9
// bug), so without the glue's hook the context queue keeps a freed event.
// No asynccrypt_SslDrain here (except with non-blocking X25519, below): the
// hook alone must make it safe.
TEST_P(X25519Tls, FreeWithKeyGenerationInFlight) {
  for (int round = 0; round < 20; ++round) {
    WOLFSSL* client = nullptr;
    WOLFSSL* server = nullptr;
    pair(&client, &server);
    const int ret = wolfSSL_connect(client);
    ASSERT_NE(ret, WOLFSSL_SUCCESS);
    const int err = wolfSSL_get_error(client, ret);
    if (err != WC_PENDING_E) {
      // Declined (threads measured it as cheap): nothing in flight.
      ASSERT_TRUE(err == WOLFSSL_ERROR_WANT_READ) << err;
    }
#ifdef WC_X25519_NONBLOCK
    // With non-blocking X25519 wolfSSL frees the key's non-blocking context
    // before the key (known issue 9b): a worker may still be using it, so a
    // worker device needs asynccrypt_SslDrain first, as every connection
    // does there. Without it this hung (a worker looping on the freed
    // context while wolfAsync_DevCtxFree waited for it).
    asynccrypt_SslDrain(client);
#endif
    wolfSSL_free(client);
    wolfSSL_free(server);
    to_server_.data.clear();
    to_client_.data.clear();
    // The context's queue has nothing left, and polls find nothing.
    WOLF_EVENT* events[8];
    int count = -1;
    ASSERT_EQ(wolfSSL_CTX_AsyncPoll(cctx_, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
    EXPECT_EQ(count, 0);
  }
  // The context still works afterwards.
  WOLFSSL* client = nullptr;
  WOLFSSL* server = nullptr;
  pair(&client, &server);
  handshake(client, server);
  asynccrypt_SslDrain(client);
  asynccrypt_SslDrain(server);
  wolfSSL_free(client);
  wolfSSL_free(server);
}

INSTANTIATE_TEST_SUITE_P(Devices, X25519Tls, ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

#else

TEST(X25519, NeedsAsynchronousX25519) {
  GTEST_SKIP() << "wolfSSL older than 5.9 or built without curve25519 (make x25519)";
}

#endif

}  // namespace
