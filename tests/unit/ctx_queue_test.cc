// Tests of src/abi/ctx_queue.c: the completion fd of a TLS context's queue.
#include "core/wolfssl_api.h"

#include <poll.h>
#include <wolfssl/ssl.h>
#define USE_CERT_BUFFERS_2048
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>

#include "asynccrypt/device.h"
#include "asynccrypt/wolfssl_handles.h"
#include "support/tls_pipe.h"

namespace {

using asynccrypt::CtxPtr;
using asynccrypt::SslPtr;

TEST(CtxQueueFd, NullIsRejected) {
  EXPECT_EQ(asynccrypt_CtxQueueFd(nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_CtxQueueRelease(nullptr), BAD_FUNC_ARG);
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

// The fd belongs to the queue wolfSSL_CTX_AsyncPoll polls: it is readable
// whenever the server's handshake pends (the simulator's work waits for a
// poll there), and that poll hands back the server's connection.
TEST(CtxQueueFd, WakesForTheQueueThatCtxAsyncPollPolls) {
  auto lib = asynccrypt::WolfSslLibrary::init();
  ASSERT_TRUE(lib);
  auto dev = asynccrypt::DeviceHandle::open("sim");
  ASSERT_TRUE(dev) << dev.error().describe();
  CtxPtr cctx(wolfSSL_CTX_new(wolfTLSv1_3_client_method()));
  CtxPtr sctx(wolfSSL_CTX_new(wolfTLSv1_3_server_method()));
  ASSERT_TRUE(cctx && sctx);
  wolfSSL_CTX_set_verify(cctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  ASSERT_EQ(wolfSSL_CTX_use_certificate_buffer(sctx.get(), server_cert_der_2048,
                                               sizeof_server_cert_der_2048, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_buffer(sctx.get(), server_key_der_2048,
                                              sizeof_server_key_der_2048, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  ASSERT_EQ(wolfSSL_CTX_SetDevId(sctx.get(), dev->id()), WOLFSSL_SUCCESS);
  for (WOLFSSL_CTX* c : {cctx.get(), sctx.get()}) {
    wolfSSL_CTX_SetIORecv(c, testing_support::pipe_read);
    wolfSSL_CTX_SetIOSend(c, testing_support::pipe_write);
  }
  const int fd = asynccrypt_CtxQueueFd(sctx.get());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(asynccrypt_CtxQueueFd(sctx.get()), fd);  // one fd per context

  testing_support::Pipe to_server, to_client;
  SslPtr client(wolfSSL_new(cctx.get()));
  SslPtr server(wolfSSL_new(sctx.get()));
  ASSERT_TRUE(client && server);
  wolfSSL_SetIOReadCtx(client.get(), &to_client);
  wolfSSL_SetIOWriteCtx(client.get(), &to_server);
  wolfSSL_SetIOReadCtx(server.get(), &to_server);
  wolfSSL_SetIOWriteCtx(server.get(), &to_client);
  int pends = 0, harvested = 0;
  bool client_done = false, server_done = false;
  for (int round = 0; round < 1000 && !(client_done && server_done); ++round) {
    if (!client_done) {
      int ignored = 0;
      const int r = testing_support::handshake_step(client.get(), true, &ignored);
      ASSERT_GE(r, 0);
      client_done = r == 1;
    }
    if (server_done) continue;
    const int ret = wolfSSL_accept(server.get());
    if (ret == WOLFSSL_SUCCESS) {
      server_done = true;
      continue;
    }
    const int err = wolfSSL_get_error(server.get(), ret);
    if (err != WC_PENDING_E) {
      ASSERT_TRUE(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) << err;
      continue;
    }
    ++pends;
    EXPECT_TRUE(readable(fd)) << "pend " << pends;
    // Poll the context (a simulator may hold an operation back a round).
    for (int poll_no = 0; poll_no < 100; ++poll_no) {
      WOLF_EVENT* events[4];
      int count = 0;
      ASSERT_EQ(wolfSSL_CTX_AsyncPoll(sctx.get(), events, 4, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
      if (count == 0) continue;
      ASSERT_EQ(count, 1);
      EXPECT_EQ(events[0]->context, server.get());
      ++harvested;
      break;
    }
  }
  EXPECT_TRUE(client_done && server_done);
  EXPECT_GE(pends, 2);
  EXPECT_EQ(harvested, pends);
  server.reset();
  client.reset();
  EXPECT_EQ(asynccrypt_CtxQueueRelease(sctx.get()), 0);
}

}  // namespace
