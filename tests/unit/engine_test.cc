// Tests of the core engine (src/core/engine.cc): memory accounting and queue side state.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <vector>

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/memory.h>

#include "core/queue_state.h"

namespace {

// Counts blocks handed out through wolfSSL's allocator and not yet freed.
std::atomic<long> g_live{0};

void* counting_malloc(size_t size) {
  void* p = std::malloc(size);
  if (p != nullptr) g_live.fetch_add(1);
  return p;
}
void counting_free(void* p) {
  if (p != nullptr) g_live.fetch_sub(1);
  std::free(p);
}
void* counting_realloc(void* p, size_t size) {
  if (p == nullptr) return counting_malloc(size);
  return std::realloc(p, size);
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(wolfAsync_DevOpen(&dev_id_), 0);
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
  }
  void TearDown() override {
    wolfEventQueue_Free(&queue_);
    wolfAsync_DevClose(&dev_id_);
  }
  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_{};
};

// Queues one AES-GCM encryption of `data` on `aes` and returns the push result.
int queue_gcm(Aes* aes, WOLF_EVENT_QUEUE* queue, std::vector<byte>& data, byte* tag) {
  static const byte iv[12] = {1, 2, 3};
  int ret = wc_AesGcmEncrypt(aes, data.data(), data.data(), static_cast<word32>(data.size()), iv,
                             sizeof iv, tag, 16, nullptr, 0);
  EXPECT_EQ(ret, WC_PENDING_E);
  return wc_AsyncHandle(&aes->asyncDev, queue, WC_ASYNC_FLAG_NONE);
}

#ifdef USE_WOLFSSL_MEMORY
TEST_F(EngineTest, OperationRecordGoesThroughWolfSslAllocator) {
  static const byte key[16] = {0};
  Aes aes;
  ASSERT_EQ(wc_AesInit(&aes, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&aes, key, sizeof key), 0);
  std::vector<byte> data(WC_ASYNC_THRESH_AES_GCM * 2, 0x5a);
  byte tag[16];

  wolfSSL_Malloc_cb old_malloc;
  wolfSSL_Free_cb old_free;
  wolfSSL_Realloc_cb old_realloc;
  ASSERT_EQ(wolfSSL_GetAllocators(&old_malloc, &old_free, &old_realloc), 0);
  ASSERT_EQ(wolfSSL_SetAllocators(counting_malloc, counting_free, counting_realloc), 0);
  const long before = g_live.load();
  ASSERT_EQ(queue_gcm(&aes, &queue_, data, tag), 0);
  // The record of the operation in flight is the one block that lives until
  // the harvest (the AES object itself allocates nothing).
  EXPECT_EQ(g_live.load() - before, 1);
  int count = 0;
  WOLF_EVENT* events[1];
  ASSERT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 1, WOLF_POLL_FLAG_CHECK_HW, &count),
            0);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(g_live.load(), before);
  ASSERT_EQ(wolfSSL_SetAllocators(old_malloc, old_free, old_realloc), 0);
  wc_AesFree(&aes);
}
#endif

TEST_F(EngineTest, QueueSideStateIsDroppedOnceIdle) {
  static const byte key[16] = {0};
  Aes aes;
  ASSERT_EQ(wc_AesInit(&aes, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&aes, key, sizeof key), 0);
  std::vector<byte> data(WC_ASYNC_THRESH_AES_GCM, 0x11);
  byte tag[16];
  auto& table = asynccrypt::QueueTable::instance();
  EXPECT_EQ(table.find(&queue_), nullptr);
  ASSERT_EQ(queue_gcm(&aes, &queue_, data, tag), 0);
  EXPECT_NE(table.find(&queue_), nullptr);
  int count = 0;
  ASSERT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, nullptr, 0, WOLF_POLL_FLAG_CHECK_HW, &count),
            0);
  EXPECT_EQ(count, 1);
  // Nothing pending and no fd asked for: no state is kept for the queue,
  // so a freed WOLFSSL_CTX leaves nothing behind.
  EXPECT_EQ(table.find(&queue_), nullptr);
  wc_AesFree(&aes);
}

TEST_F(EngineTest, PinnedQueueKeepsItsFdUntilReleased) {
  const int fd = asynccrypt_QueueFd(&queue_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(asynccrypt_QueueFd(&queue_), fd) << "one fd per queue";
  EXPECT_NE(asynccrypt::QueueTable::instance().find(&queue_), nullptr);
  EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
  EXPECT_EQ(asynccrypt::QueueTable::instance().find(&queue_), nullptr);
}

TEST_F(EngineTest, ReleaseWithOperationsQueuedIsRefused) {
  static const byte key[16] = {0};
  Aes aes;
  ASSERT_EQ(wc_AesInit(&aes, nullptr, dev_id_), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&aes, key, sizeof key), 0);
  std::vector<byte> data(WC_ASYNC_THRESH_AES_GCM, 0x22);
  byte tag[16];
  ASSERT_GE(asynccrypt_QueueFd(&queue_), 0);
  ASSERT_EQ(queue_gcm(&aes, &queue_, data, tag), 0);
  EXPECT_EQ(asynccrypt_QueueRelease(&queue_), BAD_STATE_E);
  int count = 0;
  ASSERT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, nullptr, 0, WOLF_POLL_FLAG_CHECK_HW, &count),
            0);
  EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
  wc_AesFree(&aes);
}

}  // namespace
