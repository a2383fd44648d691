// Tests of the core engine (src/core/engine.cc): memory accounting and queue side state.
#include <gtest/gtest.h>

#include <poll.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/memory.h>

#include "core/device.h"
#include "core/queue_state.h"
#include "core/registry.h"

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

// ---------------------------------------------------------------------------
// Batched wake-ups (QueueState::hold_locked and the engine paths around it)
// ---------------------------------------------------------------------------

// A worker device that the test drives by hand: it keeps what is submitted
// until report() hands the oldest to the core, with the `busy` hint the
// test chooses. Used from the test's one thread only.
class HandDevice final : public asynccrypt::Device {
 public:
  explicit HandDevice(int batch) : batch_(batch) {}
  const char* kind() const override { return "hand"; }
  bool runs_on_poll() const override { return false; }
  int completion_batch() const override { return batch_; }
  const asynccrypt::Clock& clock() const override { return clock_; }
  asynccrypt::Admission submit(asynccrypt::Op* op, asynccrypt::CompletionSink& sink) override {
    held_.push_back(op);
    sink_ = &sink;
    return asynccrypt::Admission::kAccepted;
  }
  bool cancel(asynccrypt::Op* op) override {
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (*it != op) continue;
      held_.erase(it);
      return true;
    }
    return false;
  }
  // Reports the oldest held operation; false when none is held.
  bool report(bool busy) {
    if (held_.empty()) return false;
    asynccrypt::Op* op = held_.front();
    held_.pop_front();
    op->result = 0;
    sink_->on_complete(op, busy);
    return true;
  }
  // The hold bound runs on this clock, which moves only when a test
  // advances it: no held completion expires between two reports by itself.
  asynccrypt::ManualClock& manual_clock() { return clock_; }

 private:
  const int batch_;
  std::deque<asynccrypt::Op*> held_;
  asynccrypt::CompletionSink* sink_ = nullptr;
  asynccrypt::ManualClock clock_;
};

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// `n` records in flight on a HandDevice through one queue with an fd.
class EngineBatch : public ::testing::Test {
 protected:
  void start(int batch, int n) {
    device_ = std::make_shared<HandDevice>(batch);
    auto id = asynccrypt::Registry::instance().adopt(device_);
    ASSERT_TRUE(id.is_ok());
    dev_id_ = id.value();
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    fd_ = asynccrypt_QueueFd(&queue_);
    ASSERT_GE(fd_, 0);
    records_ = std::vector<WC_ASYNC_DEV>(static_cast<std::size_t>(n));
    for (WC_ASYNC_DEV& dev : records_) {
      ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, dev_id_), 0);
      ASSERT_EQ(wc_AsyncHandle(&dev, &queue_, WC_ASYNC_FLAG_NONE), 0);
    }
  }
  void TearDown() override {
    if (dev_id_ == INVALID_DEVID) return;
    while (device_->report(false)) {
    }
    poll_all();  // harvest what is left
    EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
    wolfEventQueue_Free(&queue_);
    for (WC_ASYNC_DEV& dev : records_) wolfAsync_DevCtxFree(&dev, WOLFSSL_ASYNC_MARKER_AES);
    asynccrypt::Registry::instance().close(dev_id_);
  }
  // Harvests up to `max` events; returns how many.
  int poll_all(int max = 64) {
    std::vector<WOLF_EVENT*> events(static_cast<std::size_t>(max));
    int count = 0;
    EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events.data(), max,
                                       WOLF_POLL_FLAG_CHECK_HW, &count),
              0);
    return count;
  }

  std::shared_ptr<HandDevice> device_;
  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_{};
  int fd_ = -1;
  std::vector<WC_ASYNC_DEV> records_;  // fixed addresses: the core points at them
};

TEST_F(EngineBatch, BatchOfCompletionsWakesOnce) {
  start(/*batch=*/3, /*n=*/5);
  ASSERT_TRUE(device_->report(true));
  EXPECT_FALSE(readable(fd_)) << "1 of 3, others in flight: held";
  ASSERT_TRUE(device_->report(true));
  EXPECT_FALSE(readable(fd_)) << "2 of 3: held";
  ASSERT_TRUE(device_->report(true));
  EXPECT_TRUE(readable(fd_)) << "the batch is full";
  EXPECT_EQ(poll_all(), 3);
  EXPECT_FALSE(readable(fd_)) << "harvesting everything re-arms";
}

TEST_F(EngineBatch, HeldCompletionsAreHarvestedByAnyPoll) {
  start(8, 4);
  ASSERT_TRUE(device_->report(true));
  EXPECT_FALSE(readable(fd_));
  EXPECT_EQ(poll_all(), 1) << "holding delays only the fd, never a poll";
}

TEST_F(EngineBatch, LastOperationInFlightWakes) {
  start(8, 2);
  ASSERT_TRUE(device_->report(true));
  EXPECT_FALSE(readable(fd_));
  ASSERT_TRUE(device_->report(true));
  EXPECT_TRUE(readable(fd_)) << "nothing else in flight: a lone completion is never held";
  EXPECT_EQ(poll_all(), 2);
}

TEST_F(EngineBatch, ReportThatIsNotBusyWakes) {
  start(8, 4);
  ASSERT_TRUE(device_->report(false));
  EXPECT_TRUE(readable(fd_)) << "the pool runs out of work: wake now";
}

TEST_F(EngineBatch, BatchOfOneNeverHolds) {
  start(1, 4);
  ASSERT_TRUE(device_->report(true));
  EXPECT_TRUE(readable(fd_));
}

TEST_F(EngineBatch, ReportAfterTheHoldBoundWakes) {
  start(8, 4);
  ASSERT_TRUE(device_->report(true));
  EXPECT_FALSE(readable(fd_));
  device_->manual_clock().advance(asynccrypt::QueueState::kMaxHold);
  ASSERT_TRUE(device_->report(true));
  EXPECT_TRUE(readable(fd_)) << "the first held completion waited kMaxHold";
}

TEST_F(EngineBatch, CancelWakesWhenCompletionsRemain) {
  start(8, 2);
  ASSERT_TRUE(device_->report(true));
  ASSERT_FALSE(readable(fd_)) << "held: record 1 is still in flight";
  // Freeing record 1 withdraws the operation the held completion counted on:
  // no report will follow, so the cancellation must wake.
  wolfAsync_DevCtxFree(&records_[1], WOLFSSL_ASYNC_MARKER_AES);
  EXPECT_TRUE(readable(fd_));
  EXPECT_EQ(poll_all(), 1);
  EXPECT_FALSE(readable(fd_));
}

TEST_F(EngineBatch, PollLeavingCompletionsBehindWakes) {
  start(8, 4);
  ASSERT_TRUE(device_->report(true));
  ASSERT_TRUE(device_->report(true));
  ASSERT_FALSE(readable(fd_));
  EXPECT_EQ(poll_all(/*max=*/1), 1);
  EXPECT_TRUE(readable(fd_)) << "one completion is left behind";
  EXPECT_EQ(poll_all(), 1);
  EXPECT_FALSE(readable(fd_));
}

// Two queues share one device (a shared pool). Queue A holds a completion
// back while its other operation waits in the pool behind queue B's work;
// once the hold has lasted kMaxHold, the device's next report (of B) must
// wake A, not leave it to A's own next report, however late that comes.
TEST(EngineSharedPool, AReportOfAnotherQueueEndsAnExpiredHold) {
  auto device = std::make_shared<HandDevice>(8);
  auto id = asynccrypt::Registry::instance().adopt(device);
  ASSERT_TRUE(id.is_ok());
  int dev_id = id.value();
  WOLF_EVENT_QUEUE a{};
  WOLF_EVENT_QUEUE b{};
  ASSERT_EQ(wolfEventQueue_Init(&a), 0);
  ASSERT_EQ(wolfEventQueue_Init(&b), 0);
  const int fd_a = asynccrypt_QueueFd(&a);
  const int fd_b = asynccrypt_QueueFd(&b);
  ASSERT_GE(fd_a, 0);
  ASSERT_GE(fd_b, 0);
  std::vector<WC_ASYNC_DEV> records(4);  // a1, b1, b2, a2: the pool's order
  WOLF_EVENT_QUEUE* queue_of[] = {&a, &b, &b, &a};
  for (std::size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(wolfAsync_DevCtxInit(&records[i], WOLFSSL_ASYNC_MARKER_AES, nullptr, dev_id), 0);
    ASSERT_EQ(wc_AsyncHandle(&records[i], queue_of[i], WC_ASYNC_FLAG_NONE), 0);
  }
  ASSERT_TRUE(device->report(/*busy=*/true));  // a1: held, a2 is still in the pool
  EXPECT_FALSE(readable(fd_a));
  device->manual_clock().advance(asynccrypt::QueueState::kMaxHold);
  ASSERT_TRUE(device->report(/*busy=*/true));  // b1 (held too: b2 is live)
  EXPECT_TRUE(readable(fd_a)) << "a1 was held kMaxHold; B's report must end the hold";
  // The rest, for a clean end.
  while (device->report(false)) {
  }
  WOLF_EVENT* events[4];
  int n = 0;
  EXPECT_EQ(wolfAsync_EventQueuePoll(&a, nullptr, events, 4, 0, &n), 0);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(wolfAsync_EventQueuePoll(&b, nullptr, events, 4, 0, &n), 0);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(asynccrypt_QueueRelease(&a), 0);
  EXPECT_EQ(asynccrypt_QueueRelease(&b), 0);
  wolfEventQueue_Free(&a);
  wolfEventQueue_Free(&b);
  for (WC_ASYNC_DEV& dev : records) wolfAsync_DevCtxFree(&dev, WOLFSSL_ASYNC_MARKER_AES);
  asynccrypt::Registry::instance().close(dev_id);
}

}  // namespace
