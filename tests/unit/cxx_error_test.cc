// Tests of include/asynccrypt/error.h: Error's code and message, Expected<T> and Expected<void>.
#include <wolfssl/options.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "asynccrypt/error.h"

namespace {

using asynccrypt::Error;
using asynccrypt::Expected;

TEST(CxxError, FromCodeNamesTheCallAndWolfCryptsText) {
  const Error e = Error::from_code(BAD_FUNC_ARG, "asynccrypt_DevGetStats(7)");
  EXPECT_EQ(e.code(), BAD_FUNC_ARG);
  EXPECT_EQ(e.message(),
            std::string("asynccrypt_DevGetStats(7): ") + wc_GetErrorString(BAD_FUNC_ARG));
  EXPECT_EQ(e.describe(), e.message() + " (" + std::to_string(BAD_FUNC_ARG) + ")");
}

TEST(CxxError, FromLastErrorCarriesAsynccryptsExplanation) {
  int id = 0;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "threads:speed=3", nullptr), BAD_FUNC_ARG);
  const std::string why = asynccrypt_LastError();
  ASSERT_FALSE(why.empty());
  const Error e = Error::from_last_error(BAD_FUNC_ARG, "open");
  EXPECT_EQ(e.code(), BAD_FUNC_ARG);
  EXPECT_EQ(e.message(), "open: " + why);
}

TEST(CxxExpected, HoldsAValue) {
  Expected<int> r = 42;
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
}

TEST(CxxExpected, HoldsAnError) {
  Expected<int> r = Error(NO_VALID_DEVID, "no such device");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), NO_VALID_DEVID);
  EXPECT_EQ(r.error().message(), "no such device");
}

TEST(CxxExpected, MovesMoveOnlyValuesOut) {
  Expected<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  EXPECT_EQ(**r, 7);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(CxxExpected, VoidIsSuccessOrAnError) {
  Expected<void> ok;
  EXPECT_TRUE(ok);
  Expected<void> bad = Error(BAD_STATE_E, "busy");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), BAD_STATE_E);
}

// Asking an Expected for what it does not hold is a bug: it stops the program.
TEST(CxxExpectedDeathTest, MisuseAborts) {
  Expected<int> bad = Error(BAD_FUNC_ARG, "bad");
  EXPECT_DEATH((void)bad.value(), "value\\(\\) of an error: bad");
  Expected<int> good = 1;
  EXPECT_DEATH((void)good.error(), "error\\(\\) of a value");
  Expected<void> ok;
  EXPECT_DEATH((void)ok.error(), "error\\(\\) of a success");
}

}  // namespace
