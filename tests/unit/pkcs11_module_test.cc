// Tests of module loading (src/backends/pkcs11/p11_module.cc): bad paths, sharing, re-initialising.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "backends/pkcs11/p11_module.h"
#include "support/softhsm_token.h"

namespace {

using asynccrypt::p11::Module;
using asynccrypt::p11::SigpipeGuard;

bool sigpipe_blocked() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

TEST(Pkcs11ModuleTest, BadPathsSayWhat) {
  auto none = Module::open("");
  EXPECT_EQ(none.status().code(), BAD_FUNC_ARG);
  auto missing = Module::open("/nonexistent/libp11.so");
  EXPECT_EQ(missing.status().code(), BAD_FUNC_ARG);
  EXPECT_NE(missing.status().message().find("cannot load PKCS#11 module /nonexistent/libp11.so"),
            std::string::npos)
      << missing.status().message();
  // A real library that is not a PKCS#11 module.
  auto libm = Module::open("libm.so.6");
  EXPECT_EQ(libm.status().code(), BAD_FUNC_ARG);
  EXPECT_NE(libm.status().message().find("is not a PKCS#11 module"), std::string::npos)
      << libm.status().message();
}

TEST(Pkcs11ModuleTest, SigpipeGuardTurnsAClosedSocketIntoAnError) {
  // SIGPIPE's default action (end the process) is in force, as in a program
  // that never thought about it.
  ASSERT_NE(signal(SIGPIPE, SIG_DFL), SIG_ERR);
  ASSERT_FALSE(sigpipe_blocked());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  {
    const SigpipeGuard guard;
    EXPECT_TRUE(sigpipe_blocked());
    EXPECT_EQ(write(fds[1], "x", 1), -1);  // a module writing to its dead HSM
    EXPECT_EQ(errno, EPIPE);
    EXPECT_TRUE(sigpipe_pending());
  }
  // Consumed, and the mask is as it was: the process is still here.
  EXPECT_FALSE(sigpipe_pending());
  EXPECT_FALSE(sigpipe_blocked());
  // A thread that blocks SIGPIPE itself keeps it blocked.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr), 0);
  { const SigpipeGuard guard; }
  EXPECT_TRUE(sigpipe_blocked());
  ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &pipe_set, nullptr), 0);
  close(fds[1]);
}

TEST(Pkcs11ModuleTest, OneModulePerPathAndInitialisedAgainAfterRelease) {
  ASYNCCRYPT_SOFTHSM_OR_SKIP();
  std::string error;
  auto hsm = testing_support::SoftHsmToken::create(ASYNCCRYPT_WOLFSSL_CERTS_DIR, &error);
  ASSERT_NE(hsm, nullptr) << error;
  {
    auto a = Module::open(hsm->module());
    auto b = Module::open(hsm->module());
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(a.value().get(), b.value().get());
    EXPECT_TRUE(a.value()->os_locking());
    EXPECT_FALSE(a.value()->forked());
    CK_INFO info{};
    EXPECT_EQ(a.value()->fn()->C_GetInfo(&info), CKR_OK);
  }
  // Both released: C_Finalize ran, so a new open initialises it again.
  auto c = Module::open(hsm->module());
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  CK_INFO info{};
  EXPECT_EQ(c.value()->fn()->C_GetInfo(&info), CKR_OK);
}

}  // namespace
