// A test helper: in-memory TLS, client and server in one thread, each side
// reading from and writing to a byte queue through wolfSSL's I/O callbacks,
// and a TLS 1.3 client and server wired to each other that way.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/ssl.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "asynccrypt/wolfssl_handles.h"

namespace testing_support {

// Pipe is one direction of the connection.
struct Pipe {
  std::vector<byte> data;
};

// wolfSSL receive callback (wolfSSL_SetIORecv); ctx is the Pipe to read.
inline int pipe_read(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  if (p->data.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const int n = std::min(sz, static_cast<int>(p->data.size()));
  std::memcpy(buf, p->data.data(), static_cast<std::size_t>(n));
  p->data.erase(p->data.begin(), p->data.begin() + n);
  return n;
}

// wolfSSL send callback (wolfSSL_SetIOSend); ctx is the Pipe to write.
inline int pipe_write(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  p->data.insert(p->data.end(), buf, buf + sz);
  return sz;
}

// One handshake step on ssl (client or server side), polling its context's
// queue when it pends: 1 done, 0 not yet (*pending counts the pends), else
// the wolfSSL error.
inline int handshake_step(WOLFSSL* ssl, bool client, int* pending) {
  const int ret = client ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl);
  if (ret == WOLFSSL_SUCCESS) return 1;
  const int err = wolfSSL_get_error(ssl, ret);
  if (err == WC_PENDING_E) {
    ++*pending;
    return wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW) < 0 ? -1 : 0;
  }
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return 0;
  return err < 0 ? err : -1;
}

// ServerCredentials is the DER certificate and private key a TLS server
// presents (from wolfSSL's certs_test.h, which each test includes with the
// buffers it needs).
struct ServerCredentials {
  const byte* cert;
  long cert_size;
  const byte* key;
  long key_size;
};

// PipedTls is a TLS 1.3 client and server wired to each other through two
// Pipes. It stays where it was made: each connection holds the address of
// its Pipes. The members go in reverse order, the connections first.
struct PipedTls {
  PipedTls() = default;
  PipedTls(const PipedTls&) = delete;
  PipedTls& operator=(const PipedTls&) = delete;

  asynccrypt::CtxPtr client_ctx;
  asynccrypt::CtxPtr server_ctx;
  Pipe to_server;
  Pipe to_client;
  asynccrypt::SslPtr client;
  asynccrypt::SslPtr server;
};

// connect_over_pipes fills *tls: the client's context verifies nothing,
// the server's presents `server_credentials`; each context is bound to
// its device id (INVALID_DEVID leaves it without one) and does its I/O
// through the Pipes, and a connection is made on each. A failure is a
// fatal test failure: wrap the call in ASSERT_NO_FATAL_FAILURE.
inline void connect_over_pipes(PipedTls* tls, const ServerCredentials& server_credentials,
                               int client_dev_id, int server_dev_id) {
  tls->client_ctx.reset(wolfSSL_CTX_new(wolfTLSv1_3_client_method()));
  tls->server_ctx.reset(wolfSSL_CTX_new(wolfTLSv1_3_server_method()));
  ASSERT_TRUE(tls->client_ctx && tls->server_ctx);
  wolfSSL_CTX_set_verify(tls->client_ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  ASSERT_EQ(wolfSSL_CTX_use_certificate_buffer(tls->server_ctx.get(), server_credentials.cert,
                                               server_credentials.cert_size, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_buffer(tls->server_ctx.get(), server_credentials.key,
                                              server_credentials.key_size, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  const std::pair<WOLFSSL_CTX*, int> contexts[] = {{tls->client_ctx.get(), client_dev_id},
                                                   {tls->server_ctx.get(), server_dev_id}};
  for (const auto& [ctx, dev_id] : contexts) {
    if (dev_id != INVALID_DEVID) {
      ASSERT_EQ(wolfSSL_CTX_SetDevId(ctx, dev_id), WOLFSSL_SUCCESS);
    }
    wolfSSL_CTX_SetIORecv(ctx, pipe_read);
    wolfSSL_CTX_SetIOSend(ctx, pipe_write);
  }
  tls->client.reset(wolfSSL_new(tls->client_ctx.get()));
  tls->server.reset(wolfSSL_new(tls->server_ctx.get()));
  ASSERT_TRUE(tls->client && tls->server);
  wolfSSL_SetIOReadCtx(tls->client.get(), &tls->to_client);
  wolfSSL_SetIOWriteCtx(tls->client.get(), &tls->to_server);
  wolfSSL_SetIOReadCtx(tls->server.get(), &tls->to_server);
  wolfSSL_SetIOWriteCtx(tls->server.get(), &tls->to_client);
}

}  // namespace testing_support
