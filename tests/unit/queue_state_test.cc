// Tests of a queue's side state (src/core/queue_state.cc): the wake-up fd protocol.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <chrono>
#include <memory>

#include "core/op.h"
#include "core/queue_state.h"
#include "core/wolfssl_api.h"

namespace {

using asynccrypt::Op;
using asynccrypt::QueueState;

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

class QueueStateFd : public ::testing::Test {
 protected:
  void SetUp() override {
    qs_ = std::make_shared<QueueState>(&queue_);
    qs_->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(qs_->event_fd, 0);
  }
  void TearDown() override {
    std::lock_guard lock(qs_->mu);
    if (!qs_->done.empty()) qs_->done.erase(&op_);
  }

  WOLF_EVENT_QUEUE queue_{};
  std::shared_ptr<QueueState> qs_;
  Op op_;
};

// A reporter decides under mu and writes after unlocking; its Signal keeps
// the state (and so the fd) alive until the write is made.
TEST_F(QueueStateFd, SignalAfterUnlockKeepsTheStateAlive) {
  QueueState::Signal s;
  {
    std::lock_guard lock(qs_->mu);
    qs_->done.push_back(&op_);
    s = qs_->wake_after_unlock_locked();
    EXPECT_TRUE(qs_->fd_signalled);
    // Already signalled: a second reporter must not write again.
    EXPECT_EQ(qs_->wake_after_unlock_locked().fd, -1);
  }
  EXPECT_EQ(s.fd, qs_->event_fd);
  EXPECT_EQ(s.keep.get(), qs_.get());
  EXPECT_FALSE(readable(qs_->event_fd)) << "nothing is written under the lock";
  QueueState::signal(s);
  EXPECT_TRUE(readable(qs_->event_fd));
}

// The owner's rearm races with a reporter's write still on its way: a read
// that finds nothing must leave fd_signalled set, so the late write is
// consumed by the next rearm instead of leaving the fd readable for ever.
TEST_F(QueueStateFd, RearmBeforeTheWriteLandsStaysSignalled) {
  QueueState::Signal s;
  {
    std::lock_guard lock(qs_->mu);
    qs_->done.push_back(&op_);
    s = qs_->wake_after_unlock_locked();
    qs_->done.erase(&op_);  // the owner harvests before the write
    EXPECT_TRUE(qs_->rearm_wanted_locked());
  }
  qs_->rearm();  // reads nothing
  {
    std::lock_guard lock(qs_->mu);
    EXPECT_TRUE(qs_->fd_signalled);
  }
  QueueState::signal(s);  // the late write: one spurious wake-up
  EXPECT_TRUE(readable(qs_->event_fd));
  {
    std::lock_guard lock(qs_->mu);
    EXPECT_TRUE(qs_->rearm_wanted_locked());
  }
  qs_->rearm();
  EXPECT_FALSE(readable(qs_->event_fd));
  std::lock_guard lock(qs_->mu);
  EXPECT_FALSE(qs_->fd_signalled);
}

// Work that arrives between the owner's read and its re-lock was reported
// by a thread that saw fd_signalled set and did not write: rearm writes for it.
TEST_F(QueueStateFd, RearmSignalsAgainForWorkThatArrivedMeanwhile) {
  QueueState::Signal s;
  {
    std::lock_guard lock(qs_->mu);
    qs_->done.push_back(&op_);
    s = qs_->wake_after_unlock_locked();
  }
  QueueState::signal(s);
  // Simulate the interleaving: the owner decided to rearm (done was empty),
  // then a completion arrived before rearm() re-locked.
  {
    std::lock_guard lock(qs_->mu);
    EXPECT_FALSE(qs_->rearm_wanted_locked()) << "done is not empty";
  }
  qs_->rearm();  // consumes the counter, finds done non-empty, writes again
  EXPECT_TRUE(readable(qs_->event_fd)) << "a waiting completion must keep the fd readable";
  std::lock_guard lock(qs_->mu);
  EXPECT_TRUE(qs_->fd_signalled);
}

// hold_locked: when a worker's report may leave the owner asleep.
class QueueStateHold : public QueueStateFd {
 protected:
  void TearDown() override {
    std::lock_guard lock(qs_->mu);
    for (Op& op : ops_) {
      if (op.list == asynccrypt::OpList::kDone) qs_->done.erase(&op);
    }
  }
  // Pushes op i onto done (as a report does) and asks hold_locked.
  bool report(std::size_t i, int batch, bool busy) {
    std::lock_guard lock(qs_->mu);
    qs_->done.push_back(&ops_[i]);
    return qs_->hold_locked(batch, busy, clock_);
  }
  void set_live(std::size_t n) {
    std::lock_guard lock(qs_->mu);
    qs_->live_ops = n;
  }

  Op ops_[8];
  asynccrypt::ManualClock clock_;  // moves only when a test advances it
};

TEST_F(QueueStateHold, HoldsUntilTheBatchIsFull) {
  set_live(8);
  EXPECT_TRUE(report(0, 3, true));
  EXPECT_TRUE(report(1, 3, true));
  EXPECT_FALSE(report(2, 3, true)) << "3 of 3";
}

TEST_F(QueueStateHold, NeverHoldsTheLastLiveOperation) {
  set_live(2);
  EXPECT_TRUE(report(0, 8, true));
  EXPECT_FALSE(report(1, 8, true)) << "everything live is done: nothing would wake later";
}

TEST_F(QueueStateHold, NeverHoldsWithoutBatchOrBacklog) {
  set_live(8);
  EXPECT_FALSE(report(0, 1, true)) << "batch 1";
  TearDown();
  EXPECT_FALSE(report(0, 8, false)) << "not busy";
}

TEST_F(QueueStateHold, NothingToHoldWhenSignalledOrWithoutFd) {
  set_live(8);
  {
    std::lock_guard lock(qs_->mu);
    qs_->fd_signalled = true;
  }
  EXPECT_FALSE(report(0, 8, true));
  auto no_fd = std::make_shared<QueueState>(&queue_);
  std::lock_guard lock(no_fd->mu);
  no_fd->live_ops = 8;
  no_fd->done.push_back(&ops_[1]);
  EXPECT_FALSE(no_fd->hold_locked(8, true, clock_));
  no_fd->done.erase(&ops_[1]);
}

TEST_F(QueueStateHold, HoldsNoLongerThanTheBound) {
  set_live(8);
  EXPECT_TRUE(report(0, 8, true));
  clock_.advance(QueueState::kMaxHold - std::chrono::nanoseconds(1));
  EXPECT_TRUE(report(1, 8, true)) << "the first held completion is just inside kMaxHold";
  clock_.advance(std::chrono::nanoseconds(1));
  EXPECT_FALSE(report(2, 8, true)) << "the first held completion waited kMaxHold";
}

}  // namespace
