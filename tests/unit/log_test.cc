// Unit tests of src/core/log.cc: asynccrypt_SetLogCallback, asynccrypt_SetLogLevel, and the
// library's messages going through them.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <mutex>
#include <string>
#include <vector>

#include "support/gcm_op.h"

namespace {

// What a callback received.
struct Message {
  int level;
  std::string text;
  pthread_t thread;
};

struct Recorder {
  std::mutex mu;
  std::vector<Message> messages;

  static void record(int level, const char* text, void* ctx) {
    auto* self = static_cast<Recorder*>(ctx);
    std::lock_guard lock(self->mu);
    self->messages.push_back({level, text, pthread_self()});
  }
  std::vector<Message> taken() {
    std::lock_guard lock(mu);
    return messages;
  }
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_INFO) >= 0, true);
    ASSERT_EQ(asynccrypt_SetLogCallback(Recorder::record, &recorder_), 0);
  }
  void TearDown() override {
    asynccrypt_SetLogCallback(nullptr, nullptr);
    asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_INFO);
  }

  Recorder recorder_;
};

TEST_F(LogTest, AFailedOpenIsAnErrorWithItsReason) {
  int id = INVALID_DEVID;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "nosuchkind", nullptr), BAD_FUNC_ARG);
  const auto got = recorder_.taken();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].level, ASYNCCRYPT_LOG_ERROR);
  EXPECT_NE(got[0].text.find("unknown device kind 'nosuchkind'"), std::string::npos) << got[0].text;
  EXPECT_EQ(got[0].text.find('\n'), std::string::npos);
}

TEST_F(LogTest, AChaosDeviceTellsItsSeedAtInfo) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "chaos:seed=4242", nullptr), 0);
  wolfAsync_DevClose(&id);
  const auto got = recorder_.taken();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].level, ASYNCCRYPT_LOG_INFO);
  EXPECT_NE(got[0].text.find("seed=4242"), std::string::npos) << got[0].text;
}

TEST_F(LogTest, TheLevelDropsWhatIsAboveIt) {
  EXPECT_EQ(asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_ERROR), ASYNCCRYPT_LOG_INFO);
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "chaos:seed=1", nullptr), 0);  // info: dropped
  wolfAsync_DevClose(&id);
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "nosuchkind", nullptr), BAD_FUNC_ARG);  // error: kept
  auto got = recorder_.taken();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].level, ASYNCCRYPT_LOG_ERROR);

  EXPECT_EQ(asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_OFF), ASYNCCRYPT_LOG_ERROR);
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "nosuchkind", nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(recorder_.taken().size(), 1u);
}

TEST_F(LogTest, ALevelOutOfRangeIsRefusedAndChangesNothing) {
  EXPECT_EQ(asynccrypt_SetLogLevel(-1), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_DEBUG + 1), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_INFO), ASYNCCRYPT_LOG_INFO);
}

TEST_F(LogTest, WithoutACallbackMessagesGoToStderrOneLineEach) {
  ASSERT_EQ(asynccrypt_SetLogCallback(nullptr, &recorder_), 0);
  int id = INVALID_DEVID;
  testing::internal::CaptureStderr();
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "nosuchkind", nullptr), BAD_FUNC_ARG);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.rfind("asynccrypt: cannot open device: unknown device kind", 0), 0u) << err;
  EXPECT_EQ(err.back(), '\n');
  EXPECT_TRUE(recorder_.taken().empty());
}

TEST_F(LogTest, AMessageLongerThanTheLineIsCut) {
  const std::string kind(2000, 'k');
  int id = INVALID_DEVID;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, kind.c_str(), nullptr), BAD_FUNC_ARG);
  const auto got = recorder_.taken();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text.size(), 511u);
}

// At DEBUG every executed operation is told, on the thread that ran it: a
// worker's, on the threads device.
TEST_F(LogTest, DebugTellsEachExecutedOperationFromTheThreadThatRanIt) {
  asynccrypt_SetLogLevel(ASYNCCRYPT_LOG_DEBUG);
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "threads:workers=1,inline_us=0", nullptr), 0);
  {
    testing_support::GcmOp op(id, 5);
    ASSERT_EQ(op.init_ret, 0);
    ASSERT_EQ(wc_AsyncWait(op.start(), &op.aes.asyncDev, WC_ASYNC_FLAG_NONE), 0);
    EXPECT_TRUE(op.correct());
  }
  wolfAsync_DevClose(&id);
  const auto got = recorder_.taken();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].level, ASYNCCRYPT_LOG_DEBUG);
  EXPECT_NE(got[0].text.find("-> 0"), std::string::npos) << got[0].text;
  EXPECT_FALSE(pthread_equal(got[0].thread, pthread_self()));
}

}  // namespace
