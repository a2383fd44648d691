// Tests of module loading (src/backends/pkcs11/p11_module.cc): bad paths, sharing, re-initialising.
#include <gtest/gtest.h>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "backends/pkcs11/p11_module.h"
#include "support/softhsm_token.h"

namespace {

using asynccrypt::p11::Module;

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
