// Tests of include/asynccrypt/queue.h: QueueFd and EventQueue (attach, readiness, release, moves).
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <utility>

#include "asynccrypt/device.h"
#include "asynccrypt/queue.h"
#include "core/queue_state.h"
#include "support/gcm_op.h"

namespace {

using asynccrypt::DeviceHandle;
using asynccrypt::EventQueue;
using asynccrypt::QueueFd;
using testing_support::GcmOp;

bool state_exists(WOLF_EVENT_QUEUE* queue) {
  return asynccrypt::QueueTable::instance().find(queue) != nullptr;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// A wolfSSL queue of the test's own, for QueueFd (which does not own it).
class CxxQueueFdOnAQueue : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(wolfEventQueue_Init(&queue_), 0); }
  void TearDown() override {
    EXPECT_FALSE(state_exists(&queue_)) << "a QueueFd left state behind";
    wolfEventQueue_Free(&queue_);
  }
  WOLF_EVENT_QUEUE queue_{};
};

TEST(CxxQueueFd, AttachingNoQueueFails) {
  auto fd = QueueFd::attach(nullptr);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), BAD_FUNC_ARG);
  QueueFd empty;
  EXPECT_FALSE(empty.attached());
  EXPECT_EQ(empty.fd(), -1);
  EXPECT_TRUE(empty.release());
}

TEST_F(CxxQueueFdOnAQueue, ReadableWhileWorkWaitsAndReleasedWhenDestroyed) {
  auto dev = DeviceHandle::open("sim:skip=0");
  ASSERT_TRUE(dev) << dev.error().describe();
  {
    auto fd = QueueFd::attach(&queue_);
    ASSERT_TRUE(fd) << fd.error().describe();
    EXPECT_GE(fd->fd(), 0);
    EXPECT_EQ(fd->queue(), &queue_);
    EXPECT_TRUE(state_exists(&queue_));
    EXPECT_FALSE(readable(fd->fd())) << "nothing queued yet";

    GcmOp op(dev->id(), 1);
    ASSERT_EQ(op.start(), WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
    EXPECT_TRUE(readable(fd->fd())) << "simulator work waits for a poll";

    // Release refuses while the operation is queued, and stays attached.
    auto busy = fd->release();
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code(), BAD_STATE_E);
    EXPECT_TRUE(fd->attached());

    WOLF_EVENT* events[4];
    int count = 0;
    ASSERT_EQ(
        wolfAsync_EventQueuePoll(&queue_, nullptr, events, 4, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
    EXPECT_EQ(count, 1);
    EXPECT_TRUE(op.correct());
    EXPECT_FALSE(readable(fd->fd())) << "harvesting everything re-arms the fd";
  }
  // The destructor released it (TearDown checks).
}

TEST_F(CxxQueueFdOnAQueue, ReleaseTwiceIsSafe) {
  auto fd = QueueFd::attach(&queue_);
  ASSERT_TRUE(fd);
  EXPECT_TRUE(fd->release());
  EXPECT_FALSE(fd->attached());
  EXPECT_EQ(fd->fd(), -1);
  EXPECT_FALSE(state_exists(&queue_));
  EXPECT_TRUE(fd->release());
}

TEST_F(CxxQueueFdOnAQueue, MovesTransferTheRelease) {
  auto attached = QueueFd::attach(&queue_);
  ASSERT_TRUE(attached);
  const int raw_fd = attached->fd();
  QueueFd a = std::move(attached).value();
  QueueFd b(std::move(a));
  EXPECT_FALSE(a.attached());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.fd(), raw_fd);
  EXPECT_TRUE(a.release());
  EXPECT_TRUE(state_exists(&queue_)) << "the moved-from handle released nothing";
  QueueFd c;
  c = std::move(b);
  EXPECT_EQ(c.fd(), raw_fd);
  EXPECT_TRUE(state_exists(&queue_));
  c = QueueFd();  // assigning over an attached handle releases it
  EXPECT_FALSE(state_exists(&queue_));
}

TEST(CxxEventQueue, CreatesPollsAndGivesItsFd) {
  auto dev = DeviceHandle::open("threads:workers=1");
  ASSERT_TRUE(dev) << dev.error().describe();
  auto queue = EventQueue::create();
  ASSERT_TRUE(queue) << queue.error().describe();
  ASSERT_NE(queue->get(), nullptr);
  auto fd = queue->fd();
  ASSERT_TRUE(fd) << fd.error().describe();
  EXPECT_EQ(*queue->fd(), *fd) << "asked for once";

  GcmOp op(dev->id(), 2);
  ASSERT_EQ(op.start(), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(op.dev(), queue->get(), WC_ASYNC_FLAG_NONE), 0);
  pollfd p{*fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "the worker's completion wakes the fd";
  WOLF_EVENT* events[4];
  auto count = queue->poll(events, 4);
  ASSERT_TRUE(count) << count.error().describe();
  EXPECT_EQ(*count, 1);
  EXPECT_EQ(events[0], op.event());
  EXPECT_TRUE(op.correct());
}

TEST(CxxEventQueue, PollOfAnEmptyHandleFails) {
  EventQueue empty;
  EXPECT_EQ(empty.get(), nullptr);
  WOLF_EVENT* events[1];
  auto count = empty.poll(events, 1);
  ASSERT_FALSE(count);
  EXPECT_EQ(count.error().code(), BAD_FUNC_ARG);
  auto fd = empty.fd();
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), BAD_FUNC_ARG);
}

// The queue lives on the heap: a move keeps its address (asynccrypt's key),
// and whoever holds it last releases the state.
TEST(CxxEventQueue, MoveKeepsTheQueueAndReleasesOnce) {
  auto created = EventQueue::create();
  ASSERT_TRUE(created);
  WOLF_EVENT_QUEUE* q = created->get();
  ASSERT_TRUE(created->fd());
  EXPECT_TRUE(state_exists(q));
  {
    EventQueue moved = std::move(created).value();
    EXPECT_EQ(moved.get(), q);
    EventQueue other;
    other = std::move(moved);
    EXPECT_EQ(other.get(), q);
    EXPECT_EQ(moved.get(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_TRUE(state_exists(q));
  }
  EXPECT_FALSE(state_exists(q));
}

}  // namespace
