// Tests of include/asynccrypt/wolfssl_handles.h: the wolfSSL library guard and object owners.
#include <wolfssl/options.h>

#include <gtest/gtest.h>

#include <utility>

#include "asynccrypt/device.h"
#include "asynccrypt/wolfssl_handles.h"

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

}  // namespace
