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
  testing_support::PipedTls tls;
  ASSERT_NO_FATAL_FAILURE(
      testing_support::connect_over_pipes(&tls,
                                          {server_cert_der_2048, sizeof_server_cert_der_2048,
                                           server_key_der_2048, sizeof_server_key_der_2048},
                                          INVALID_DEVID, dev->id()));
  const int fd = asynccrypt_CtxQueueFd(tls.server_ctx.get());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(asynccrypt_CtxQueueFd(tls.server_ctx.get()), fd);  // one fd per context

  int pends = 0, harvested = 0;
  bool client_done = false, server_done = false;
  for (int round = 0; round < 1000 && !(client_done && server_done); ++round) {
    if (!client_done) {
      int ignored = 0;
      const int r = testing_support::handshake_step(tls.client.get(), true, &ignored);
      ASSERT_GE(r, 0);
      client_done = r == 1;
    }
    if (server_done) continue;
    const int ret = wolfSSL_accept(tls.server.get());
    if (ret == WOLFSSL_SUCCESS) {
      server_done = true;
      continue;
    }
    const int err = wolfSSL_get_error(tls.server.get(), ret);
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
      ASSERT_EQ(
          wolfSSL_CTX_AsyncPoll(tls.server_ctx.get(), events, 4, WOLF_POLL_FLAG_CHECK_HW, &count),
          0);
      if (count == 0) continue;
      ASSERT_EQ(count, 1);
      EXPECT_EQ(events[0]->context, tls.server.get());
      ++harvested;
      break;
    }
  }
  EXPECT_TRUE(client_done && server_done);
  EXPECT_GE(pends, 2);
  EXPECT_EQ(harvested, pends);
  tls.server.reset();
  tls.client.reset();
  EXPECT_EQ(asynccrypt_CtxQueueRelease(tls.server_ctx.get()), 0);
}

}  // namespace
