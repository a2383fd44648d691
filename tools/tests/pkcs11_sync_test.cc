// Tests of perf-server's synchronous PKCS#11 key (tools/perf/pkcs11_sync.cc): the spec it
// reads and the refusals it gives before any token is touched.
#include "perf/pkcs11_sync.h"

// HAVE_PKCS11: whether this wolfSSL has its own PKCS#11 code.
#include <wolfssl/options.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

using perf::Pkcs11Spec;

TEST(Pkcs11Spec, ReadsTheTokenAndIgnoresTheDevicesOwnOptions) {
  Pkcs11Spec spec;
  std::string error;
  ASSERT_TRUE(perf::parse_pkcs11_spec(
      "pkcs11:module=/x/lib.so,token=T 1,pin-file=/p,workers=8,depth=64,delay_us=5", &spec, &error))
      << error;
  EXPECT_EQ(spec.module, "/x/lib.so");
  EXPECT_EQ(spec.token, "T 1");
  EXPECT_EQ(spec.pin_file, "/p");
  EXPECT_EQ(spec.pin_env, "");
  ASSERT_TRUE(perf::parse_pkcs11_spec("pkcs11:token=T,pin-env=PIN,module=m", &spec, &error));
  EXPECT_EQ(spec.pin_env, "PIN");
  EXPECT_EQ(spec.pin_file, "");
}

TEST(Pkcs11Spec, RefusesWithTheReason) {
  const struct {
    const char* spec;
    const char* message;
  } cases[] = {
      {"threads:workers=2", "not a pkcs11 device spec"},
      {"pkcs11:module=m,token=t,pin-env=P,colour=red", "unknown option 'colour'"},
      {"pkcs11:module=m,module=n,token=t,pin-env=P", "'module' given twice"},
      {"pkcs11:token=t,pin-env=P", "needs module= and token="},
      {"pkcs11:module=m,pin-env=P", "needs module= and token="},
      {"pkcs11:module=m,token=t", "needs one of pin-file= and pin-env="},
      {"pkcs11:module=m,token=t,pin-env=P,pin-file=F", "needs one of pin-file= and pin-env="},
  };
  for (const auto& c : cases) {
    Pkcs11Spec spec;
    std::string error;
    EXPECT_FALSE(perf::parse_pkcs11_spec(c.spec, &spec, &error)) << c.spec;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.spec << ": " << error;
  }
}

TEST(SyncPkcs11Key, OpenFailsWithTheReason) {
  std::string error;
  unsetenv("ASYNCCRYPT_TEST_NO_SUCH_PIN");
  EXPECT_EQ(perf::SyncPkcs11Key::open("pkcs11:module=/nonexistent.so,token=t,"
                                      "pin-env=ASYNCCRYPT_TEST_NO_SUCH_PIN",
                                      &error),
            nullptr);
#ifdef HAVE_PKCS11
  EXPECT_NE(error.find("ASYNCCRYPT_TEST_NO_SUCH_PIN is not set"), std::string::npos) << error;
  setenv("ASYNCCRYPT_TEST_NO_SUCH_PIN", "1234", 1);
  EXPECT_EQ(perf::SyncPkcs11Key::open("pkcs11:module=/nonexistent.so,token=t,"
                                      "pin-env=ASYNCCRYPT_TEST_NO_SUCH_PIN",
                                      &error),
            nullptr);
  EXPECT_NE(error.find("wc_Pkcs11_Initialize(/nonexistent.so) failed"), std::string::npos) << error;
  unsetenv("ASYNCCRYPT_TEST_NO_SUCH_PIN");
#else
  EXPECT_NE(error.find("--enable-pkcs11"), std::string::npos) << error;
#endif
}

}  // namespace
