// Smoke test: wolfCrypt on asynccrypt pends, and completes through a wait.
#include <gtest/gtest.h>

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

TEST(Smoke, EccSignPendsThenCompletes) {
  int dev_id = INVALID_DEVID;
  ASSERT_EQ(wolfAsync_DevOpen(&dev_id), 0);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  ecc_key key;
  ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, dev_id), 0);
  int ret = wc_ecc_make_key(&rng, 32, &key);
  EXPECT_EQ(ret, WC_PENDING_E);
  ret = wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_NONE);
  EXPECT_EQ(ret, 0);
  wc_ecc_free(&key);
  wc_FreeRng(&rng);
  wolfAsync_DevClose(&dev_id);
  EXPECT_EQ(dev_id, INVALID_DEVID);
}
