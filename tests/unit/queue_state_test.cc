// Tests of a queue's side state (src/core/queue_state.cc): the wake-up fd protocol.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>

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

}  // namespace
