// The queue's completion fd read by its owner's event loop (issue 14.2). Reading an eventfd after
// EPOLLIN is the common idiom; docs/design.md allows it as long as the loop polls the queue
// afterwards. Before the fix the queue still believed its signal unread after such a read, so no
// later completion wrote again and an epoll_wait(-1) loop slept for ever; a poll that left work
// behind (maxEvents, unfinished poll-driven work) did not write either. On every device that pends
// AES-GCM.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <vector>

#include "asynccrypt/queue.h"
#include "support/device_list.h"
#include "support/test_queue.h"

namespace {

// Generous: an operation takes microseconds; this only bounds a lost
// wake-up, which would otherwise hang the test.
constexpr int kWakeUpBoundMs = 5000;
// Poll-driven devices (sim with skips, chaos) finish an operation only
// after several polls.
constexpr int kMaxPollsPerOp = 64;
constexpr int kLen = 256;

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// The loop's own read, as after EPOLLIN.
void read_fd(int fd) {
  std::uint64_t value = 0;
  ASSERT_EQ(::read(fd, &value, sizeof value), static_cast<ssize_t>(sizeof value));
}

// One AES-GCM object with an encryption submitted to a queue.
struct PendingGcm {
  Aes aes{};
  std::array<byte, 16> key{};
  std::array<byte, 12> iv{};
  std::array<byte, kLen> plain{};
  std::array<byte, kLen> cipher{};
  std::array<byte, 16> tag{};

  void submit(int dev_id, WOLF_EVENT_QUEUE* queue) {
    key.fill(1);
    iv.fill(2);
    plain.fill(3);
    ASSERT_EQ(wc_AesInit(&aes, nullptr, dev_id), 0);
    ASSERT_EQ(wc_AesGcmSetKey(&aes, key.data(), key.size()), 0);
    ASSERT_EQ(wc_AesGcmEncrypt(&aes, cipher.data(), plain.data(), kLen, iv.data(), iv.size(),
                               tag.data(), tag.size(), nullptr, 0),
              WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(&aes.asyncDev, queue, WC_ASYNC_FLAG_NONE), 0);
  }
  ~PendingGcm() { wc_AesFree(&aes); }
};

class QueueFdOutsideRead : public testing_support::DeviceTest {
 protected:
  // Runs the loop: wait for the fd, read it, poll for at most max_events;
  // until `want` events were harvested. Each wait must end in a wake-up.
  void harvest_reading_the_fd(int want, int max_events) {
    int harvested = 0;
    for (int round = 0; harvested < want; ++round) {
      ASSERT_LT(round, want * kMaxPollsPerOp) << "the operations never finished";
      ASSERT_TRUE(readable(fd_, kWakeUpBoundMs))
          << "no wake-up within " << kWakeUpBoundMs << " ms, " << harvested << " of " << want
          << " harvested, round " << round;
      read_fd(fd_);
      std::vector<WOLF_EVENT*> events(max_events);
      int count = 0;
      ASSERT_EQ(wolfAsync_EventQueuePoll(queue_.get(), nullptr, events.data(), max_events,
                                         WOLF_POLL_FLAG_CHECK_HW, &count),
                0);
      for (int i = 0; i < count; ++i) {
        EXPECT_EQ(events[i]->ret, 0);
        EXPECT_EQ(wolfAsync_EventPop(events[i], WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), 0);
      }
      harvested += count;
    }
  }

  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto fd = queue_.fd();
    ASSERT_TRUE(fd) << fd.error().describe();
    fd_ = *fd;
  }

  asynccrypt::EventQueue queue_ = testing_support::new_queue();
  int fd_ = -1;
};

// One operation at a time, the loop reading the fd before each poll: every
// operation must wake the loop, and nothing is left signalled after.
TEST_P(QueueFdOutsideRead, EveryOperationWakesTheLoopAfterItsRead) {
  for (int round = 0; round < 5; ++round) {
    PendingGcm op;
    ASSERT_NO_FATAL_FAILURE(op.submit(dev_id(), queue_.get()));
    ASSERT_NO_FATAL_FAILURE(harvest_reading_the_fd(1, 2)) << "operation " << round;
    EXPECT_FALSE(readable(fd_, 0)) << "a wake-up with nothing to harvest, operation " << round;
  }
}

// Three in flight, harvested one per poll: each poll leaves work behind
// after the loop's read, so it must signal again.
TEST_P(QueueFdOutsideRead, APollLeavingWorkBehindSignalsAgain) {
  std::array<PendingGcm, 3> ops;
  for (PendingGcm& op : ops) ASSERT_NO_FATAL_FAILURE(op.submit(dev_id(), queue_.get()));
  ASSERT_NO_FATAL_FAILURE(harvest_reading_the_fd(3, 1));
  EXPECT_FALSE(readable(fd_, 0));
}

INSTANTIATE_TEST_SUITE_P(Devices, QueueFdOutsideRead,
                         ::testing::ValuesIn(testing_support::pending_devices()),
                         testing_support::device_name);

}  // namespace
