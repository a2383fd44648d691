// Tests of include/asynccrypt/wolfssl_handles.h: the wolfSSL library guard and object owners.
#include <wolfssl/options.h>

#include <gtest/gtest.h>
#define USE_CERT_BUFFERS_2048
#include <wolfssl/certs_test.h>

#include <utility>
#include <vector>

#include "asynccrypt/device.h"
#include "asynccrypt/wolfssl_handles.h"
#include "support/tls_pipe.h"

namespace {

// The calls SslFree makes, in order ('d' drain, 'f' free). The binary is
// linked with -Wl,--wrap for both functions (tests/CMakeLists.txt), so the
// owner's calls reach the recorders below first.
std::vector<std::pair<char, void*>> g_calls;

}  // namespace

// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): the linker's names
extern "C" int __real_asynccrypt_SslDrain(void* ssl);
extern "C" void __real_wolfSSL_free(WOLFSSL* ssl);
extern "C" int __wrap_asynccrypt_SslDrain(void* ssl) {
  g_calls.emplace_back('d', ssl);
  return __real_asynccrypt_SslDrain(ssl);
}
extern "C" void __wrap_wolfSSL_free(WOLFSSL* ssl) {
  g_calls.emplace_back('f', ssl);
  __real_wolfSSL_free(ssl);
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace {

using asynccrypt::CtxPtr;
using asynccrypt::SslPtr;
using asynccrypt::WolfSslLibrary;

TEST(CxxWolfSslLibrary, InitMoveAndCleanup) {
  auto lib = WolfSslLibrary::init();
  ASSERT_TRUE(lib) << lib.error().describe();
  EXPECT_TRUE(lib->held());
  WolfSslLibrary moved = std::move(lib).value();
  EXPECT_TRUE(moved.held());
  WolfSslLibrary other;
  EXPECT_FALSE(other.held());
  other = std::move(moved);
  EXPECT_TRUE(other.held());
  EXPECT_FALSE(moved.held());  // NOLINT(bugprone-use-after-move): moved-from is empty
  {
    auto nested = WolfSslLibrary::init();  // wolfSSL counts inits
    ASSERT_TRUE(nested);
  }
  // Still initialised: a context can be made.
  CtxPtr ctx(wolfSSL_CTX_new(wolfTLS_client_method()));
  EXPECT_NE(ctx, nullptr);
}

TEST(CxxWolfSslHandles, OwnersFreeContextsAndConnectionsOnADevice) {
  auto lib = WolfSslLibrary::init();
  ASSERT_TRUE(lib);
  auto dev = asynccrypt::DeviceHandle::open("sim");
  ASSERT_TRUE(dev) << dev.error().describe();
  CtxPtr ctx(wolfSSL_CTX_new(wolfTLS_client_method()));
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(wolfSSL_CTX_SetDevId(ctx.get(), dev->id()), WOLFSSL_SUCCESS);
  SslPtr ssl(wolfSSL_new(ctx.get()));
  ASSERT_NE(ssl, nullptr);
  ctx.reset();  // reference counted: the connection keeps it
  ssl.reset();
}

// Issue 14.3: the owner must drain before it frees, or a worker still
// running the connection's operation writes into freed memory.
TEST(CxxWolfSslHandles, SslPtrDrainsBeforeItFrees) {
  auto lib = WolfSslLibrary::init();
  ASSERT_TRUE(lib);
  CtxPtr ctx(wolfSSL_CTX_new(wolfTLS_client_method()));
  ASSERT_NE(ctx, nullptr);
  SslPtr ssl(wolfSSL_new(ctx.get()));
  ASSERT_NE(ssl, nullptr);
  WOLFSSL* raw = ssl.get();
  g_calls.clear();
  ssl.reset();
  const std::vector<std::pair<char, void*>> want = {{'d', raw}, {'f', raw}};
  EXPECT_EQ(g_calls, want);
}

// Both sides of an in-memory TLS 1.3 handshake on a worker device, their
// owners dropped at each pending point in turn with the operation handed
// to a worker and not harvested: no explicit drain, the owners do it.
// The race this guards against (a worker writing ssl->arrays after
// wolfSSL_free released it) was found by TSan on wolfSSL 5.5.4 (see
// lifecycle_test); on 5.9.2 this test did not catch a removed drain in 3
// ASan runs, so SslPtrDrainsBeforeItFrees is the check that always fails
// without it. This one runs the owners through every pending point.
TEST(CxxWolfSslHandles, SslPtrFreedMidHandshakeOnWorkers) {
  auto lib = WolfSslLibrary::init();
  ASSERT_TRUE(lib);
  auto dev = asynccrypt::DeviceHandle::open("threads:workers=2,inline_us=0");
  ASSERT_TRUE(dev) << dev.error().describe();
  int aborted = 0;
  for (int abort_at = 1; abort_at < 100; ++abort_at) {
    testing_support::PipedTls tls;
    ASSERT_NO_FATAL_FAILURE(
        testing_support::connect_over_pipes(&tls,
                                            {server_cert_der_2048, sizeof_server_cert_der_2048,
                                             server_key_der_2048, sizeof_server_key_der_2048},
                                            dev->id(), dev->id()));
    // Step both sides; stop right after the abort_at-th pend, before any
    // poll, so the operation is at (or on its way to) a worker.
    int pends = 0;
    bool client_done = false, server_done = false;
    for (int round = 0; round < 10000 && pends < abort_at && !(client_done && server_done);
         ++round) {
      for (const bool is_client : {true, false}) {
        if (pends >= abort_at) break;
        WOLFSSL* ssl = is_client ? tls.client.get() : tls.server.get();
        bool& done = is_client ? client_done : server_done;
        if (done) continue;
        const int ret = is_client ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl);
        if (ret == WOLFSSL_SUCCESS) {
          done = true;
          continue;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (err == WC_PENDING_E) {
          if (++pends >= abort_at) break;
          ASSERT_GE(wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW), 0);
        } else {
          ASSERT_TRUE(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) << err;
        }
      }
    }
    const bool hit = pends >= abort_at;
    tls.server.reset();  // the owners drain; no asynccrypt_SslDrain here
    tls.client.reset();
    if (!hit) break;
    ++aborted;
  }
  EXPECT_GE(aborted, 3) << "too few pending points: is the device asynchronous?";
  auto s = dev->stats();
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->in_flight, 0u);
}

}  // namespace
