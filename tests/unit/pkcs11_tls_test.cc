// TLS through the pkcs11 device: a wolfSSL server whose private key is in a SoftHSM2 token
// (wolfSSL_CTX_use_PrivateKey_Id / _Label) completes handshakes while the loop polls, and the
// loop serves other connections while the token's answer is outstanding.
#include <gtest/gtest.h>

#include <memory>
#include <string>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/ssl.h>

#include "support/pkcs11_device_fixture.h"
#include "support/tls_pipe.h"

namespace {

// Keys by id or label (WOLF_PRIVATE_KEY_ID) come with crypto callbacks.
#ifdef WOLF_CRYPTO_CB

using testing_support::handshake_step;
using testing_support::Pipe;
using testing_support::pipe_read;
using testing_support::pipe_write;
using testing_support::Pkcs11DeviceTest;

const std::string kCerts = ASYNCCRYPT_WOLFSSL_CERTS_DIR;

struct CtxDeleter {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }
};
using Ctx = std::unique_ptr<WOLFSSL_CTX, CtxDeleter>;
using Ssl = std::unique_ptr<WOLFSSL, SslDeleter>;

enum class KeyIn { kToken, kFile };
// kEcc384: the token's P-384 key is wolfSSL's ca-ecc384 key, so the server
// presents that (self-signed) certificate and the client trusts it.
enum class Alg { kRsa, kEcc, kEcc384 };

const char* server_cert(Alg alg) {
  switch (alg) {
    case Alg::kRsa:
      return "/server-cert.pem";
    case Alg::kEcc:
      return "/server-ecc.pem";
    case Alg::kEcc384:
      return "/ca-ecc384-cert.pem";
  }
  return "";
}
const char* trusted_ca(Alg alg) {
  switch (alg) {
    case Alg::kRsa:
      return "/ca-cert.pem";
    case Alg::kEcc:
      return "/ca-ecc-cert.pem";
    case Alg::kEcc384:
      return "/ca-ecc384-cert.pem";
  }
  return "";
}
unsigned char token_id(Alg alg) {
  switch (alg) {
    case Alg::kRsa:
      return 0x01;
    case Alg::kEcc:
      return 0x02;
    case Alg::kEcc384:
      return 0x03;
  }
  return 0;
}

// A server context: the certificate from wolfSSL's certs/, the key from
// the token (by id, or by label when `label` is set) or from its file.
Ctx server_ctx(bool tls13, Alg alg, KeyIn where, int dev_id, const char* label = nullptr) {
  Ctx ctx(wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method()));
  if (!ctx) return ctx;
  const std::string cert = kCerts + server_cert(alg);
  const std::string key = kCerts + (alg == Alg::kRsa ? "/server-key.pem" : "/ecc-key.pem");
  EXPECT_EQ(wolfSSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), WOLFSSL_FILETYPE_PEM),
            WOLFSSL_SUCCESS);
  if (where == KeyIn::kFile) {
    EXPECT_EQ(wolfSSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM),
              WOLFSSL_SUCCESS);
  } else if (label != nullptr) {
    EXPECT_EQ(wolfSSL_CTX_use_PrivateKey_Label(ctx.get(), label, dev_id), WOLFSSL_SUCCESS);
  } else {
    const unsigned char id[] = {token_id(alg)};
    EXPECT_EQ(wolfSSL_CTX_use_PrivateKey_Id(ctx.get(), id, 1, dev_id), WOLFSSL_SUCCESS);
  }
  return ctx;
}

// wolfSSL's test certificates expire (5.5.4's in 2025, 5.7.2's in
// September 2026) and these tests run on each version's own (make
// hsm-older). They are about where the server's key lives, so a date error
// on the test chain is the one verification error they let pass; the chain
// and the server's signature are still checked. (faketime would do it too,
// but hangs now and then under ASan at start-up.)
int accept_expired_test_certs(int preverified, WOLFSSL_X509_STORE_CTX* store) {
  if (preverified) return 1;
  return store->error == ASN_AFTER_DATE_E || store->error == ASN_BEFORE_DATE_E;
}

Ctx client_ctx(bool tls13, Alg alg) {
  Ctx ctx(wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method()));
  if (!ctx) return ctx;
  const std::string ca = kCerts + trusted_ca(alg);
  EXPECT_EQ(wolfSSL_CTX_load_verify_locations_ex(ctx.get(), ca.c_str(), nullptr,
                                                 WOLFSSL_LOAD_FLAG_DATE_ERR_OKAY),
            WOLFSSL_SUCCESS);
  wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER, accept_expired_test_certs);
  return ctx;
}

// One connection over two in-memory pipes.
struct Connection {
  Connection(WOLFSSL_CTX* server_ctx, WOLFSSL_CTX* client_ctx)
      : server(wolfSSL_new(server_ctx)), client(wolfSSL_new(client_ctx)) {
    wolfSSL_SSLSetIORecv(server.get(), pipe_read);
    wolfSSL_SSLSetIOSend(server.get(), pipe_write);
    wolfSSL_SetIOReadCtx(server.get(), &to_server);
    wolfSSL_SetIOWriteCtx(server.get(), &to_client);
    wolfSSL_SSLSetIORecv(client.get(), pipe_read);
    wolfSSL_SSLSetIOSend(client.get(), pipe_write);
    wolfSSL_SetIOReadCtx(client.get(), &to_client);
    wolfSSL_SetIOWriteCtx(client.get(), &to_server);
  }
  // One step of each side; false on an error (recorded in `error`).
  bool step() {
    if (!server_done) {
      const int r = handshake_step(server.get(), false, &server_pends);
      if (r < 0) error = r;
      server_done = r == 1;
    }
    if (!client_done) {
      const int r = handshake_step(client.get(), true, &client_pends);
      if (r < 0) error = r;
      client_done = r == 1;
    }
    return error == 0;
  }
  bool done() const { return server_done && client_done; }
  // Steps until done, an error, or a bound on steps.
  bool run() {
    for (int i = 0; i < 1'000'000 && !done(); ++i) {
      if (!step()) return false;
    }
    return done();
  }

  Pipe to_server, to_client;
  Ssl server, client;
  bool server_done = false, client_done = false;
  int server_pends = 0, client_pends = 0;
  int error = 0;
};

class Pkcs11TlsTest : public Pkcs11DeviceTest {
 protected:
  void SetUp() override {
    wolfSSL_Init();
    Pkcs11DeviceTest::SetUp();
  }
  void TearDown() override {
    Pkcs11DeviceTest::TearDown();
    wolfSSL_Cleanup();
  }

  // A full handshake with the server's key in the token; the server must
  // have pended on the device (the signature went through a worker). With
  // `cipher`, both sides offer only that suite, and it must be the one used.
  void handshake(bool tls13, Alg alg, const char* label = nullptr, const char* cipher = nullptr) {
    Ctx server = server_ctx(tls13, alg, KeyIn::kToken, dev_id_, label);
    Ctx client = client_ctx(tls13, alg);
    ASSERT_TRUE(server && client);
    if (cipher != nullptr) {
      for (WOLFSSL_CTX* ctx : {server.get(), client.get()}) {
        ASSERT_EQ(wolfSSL_CTX_set_cipher_list(ctx, cipher), WOLFSSL_SUCCESS);
      }
    }
    const auto before = stats().completed;
    Connection c(server.get(), client.get());
    ASSERT_TRUE(c.run()) << "error " << c.error << ": " << device().last_error();
    if (cipher != nullptr) EXPECT_STREQ(wolfSSL_get_cipher_name(c.server.get()), cipher);
    EXPECT_GT(c.server_pends, 0);
    EXPECT_GE(stats().completed, before + 1);
    // Application data flows both ways.
    const char hello[] = "hello";
    char buf[16] = {};
    ASSERT_EQ(wolfSSL_write(c.client.get(), hello, sizeof hello), static_cast<int>(sizeof hello));
    ASSERT_EQ(wolfSSL_read(c.server.get(), buf, sizeof buf), static_cast<int>(sizeof hello));
    EXPECT_STREQ(buf, hello);
  }
};

TEST_F(Pkcs11TlsTest, Tls13RsaKeyById) { handshake(true, Alg::kRsa); }
TEST_F(Pkcs11TlsTest, Tls13RsaKeyByLabel) { handshake(true, Alg::kRsa, "rsa-2048"); }
TEST_F(Pkcs11TlsTest, Tls12RsaKeyById) { handshake(false, Alg::kRsa); }
TEST_F(Pkcs11TlsTest, Tls13EcdsaP256KeyById) { handshake(true, Alg::kEcc); }
TEST_F(Pkcs11TlsTest, Tls12EcdsaP256KeyById) { handshake(false, Alg::kEcc); }
TEST_F(Pkcs11TlsTest, Tls13EcdsaP384KeyById) { handshake(true, Alg::kEcc384); }

#ifdef WOLFSSL_STATIC_RSA
TEST_F(Pkcs11TlsTest, Tls12RsaKeyExchangeDecryptsOnTheToken) {
  // No signature at all: the client encrypts the premaster secret to the
  // server's RSA key, and the server's private decryption (C_Decrypt on the
  // token) is the one that pends: the handshake's only device operation.
  handshake(false, Alg::kRsa, nullptr, "AES128-GCM-SHA256");
  EXPECT_EQ(stats().completed, 1u);
}
#endif

TEST_F(Pkcs11TlsTest, ManyHandshakesOnOneLoop) {
  Ctx server = server_ctx(true, Alg::kRsa, KeyIn::kToken, dev_id_);
  Ctx client = client_ctx(true, Alg::kRsa);
  constexpr int kConnections = 8;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kConnections; ++i) {
    conns.push_back(std::make_unique<Connection>(server.get(), client.get()));
  }
  // One loop steps every connection in turn, as an event loop would.
  for (int round = 0; round < 1'000'000; ++round) {
    bool all = true;
    for (auto& c : conns) {
      ASSERT_TRUE(c->step()) << "error " << c->error << ": " << device().last_error();
      all = all && c->done();
    }
    if (all) break;
  }
  for (auto& c : conns) {
    EXPECT_TRUE(c->done());
    EXPECT_GT(c->server_pends, 0);
  }
}

TEST_F(Pkcs11TlsTest, TheLoopServesOtherConnectionsWhileTheTokenHasNotAnswered) {
  // The "HSM" is held: connection A's signature stays outstanding while
  // connection B (key in a file) completes on the same loop.
  Ctx token_server = server_ctx(true, Alg::kRsa, KeyIn::kToken, dev_id_);
  Ctx file_server = server_ctx(true, Alg::kRsa, KeyIn::kFile, dev_id_);
  Ctx client = client_ctx(true, Alg::kRsa);
  device().hold();
  Connection a(token_server.get(), client.get());
  for (int i = 0; i < 1000 && stats().in_flight == 0; ++i) ASSERT_TRUE(a.step());
  ASSERT_EQ(stats().in_flight, 1u) << "A never reached the token";
  Connection b(file_server.get(), client.get());
  for (int i = 0; i < 1'000'000 && !b.done(); ++i) {
    ASSERT_TRUE(b.step());
    ASSERT_TRUE(a.step());  // the loop keeps polling A: it must not block
  }
  EXPECT_TRUE(b.done());
  EXPECT_FALSE(a.server_done);
  EXPECT_EQ(stats().in_flight, 1u);
  device().release();
  ASSERT_TRUE(a.run()) << "error " << a.error;
}

TEST_F(Pkcs11TlsTest, FreeingAConnectionWithItsSignatureQueued) {
  Ctx server = server_ctx(true, Alg::kEcc, KeyIn::kToken, dev_id_);
  Ctx client = client_ctx(true, Alg::kEcc);
  device().hold();
  {
    Connection a(server.get(), client.get());
    for (int i = 0; i < 1000 && stats().in_flight == 0; ++i) ASSERT_TRUE(a.step());
    ASSERT_EQ(stats().in_flight, 1u);
  }  // wolfSSL_free with the operation still queued: withdrawn
  EXPECT_EQ(stats().cancelled, 1u);
  EXPECT_EQ(stats().in_flight, 0u);
  device().release();
  // The device still serves the next connection.
  Connection b(server.get(), client.get());
  EXPECT_TRUE(b.run()) << "error " << b.error;
}

#else  // !WOLF_CRYPTO_CB

TEST(Pkcs11TlsTest, NeedsCryptoCallbacks) { ASYNCCRYPT_PKCS11_DEVICE_OR_SKIP(); }

#endif  // WOLF_CRYPTO_CB

}  // namespace
