// QueueState's view of a spinning owner: after a run of empty polls while its
// operations are at workers, each further empty poll gives the core away.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/queue_state.h"

namespace {

using asynccrypt::QueueState;

TEST(QueueSpin, GivesWayOnlyAfterARunOfEmptyPolls) {
  QueueState qs(nullptr);
  std::lock_guard lock(qs.mu);
  for (int i = 0; i < QueueState::kSpinPolls; ++i) {
    EXPECT_FALSE(qs.note_empty_poll_locked(false, true)) << "poll " << i;
  }
  EXPECT_TRUE(qs.note_empty_poll_locked(false, true));
  EXPECT_TRUE(qs.note_empty_poll_locked(false, true)) << "and every empty poll after it";
}

TEST(QueueSpin, AHarvestEndsTheRun) {
  QueueState qs(nullptr);
  std::lock_guard lock(qs.mu);
  for (int i = 0; i <= QueueState::kSpinPolls; ++i) (void)qs.note_empty_poll_locked(false, true);
  EXPECT_FALSE(qs.note_empty_poll_locked(true, true));
  for (int i = 0; i < QueueState::kSpinPolls; ++i) {
    EXPECT_FALSE(qs.note_empty_poll_locked(false, true)) << "poll " << i;
  }
}

TEST(QueueSpin, PollsWithNothingAtWorkersNeverGiveWay) {
  // Nothing live, or poll-driven work to run, or completions left behind:
  // the owner's polls are not waiting on another core.
  QueueState qs(nullptr);
  std::lock_guard lock(qs.mu);
  for (int i = 0; i < 10 * QueueState::kSpinPolls; ++i) {
    EXPECT_FALSE(qs.note_empty_poll_locked(false, false));
  }
  for (int i = 0; i < QueueState::kSpinPolls; ++i) (void)qs.note_empty_poll_locked(false, true);
  EXPECT_FALSE(qs.note_empty_poll_locked(false, false)) << "the run starts again";
  EXPECT_FALSE(qs.note_empty_poll_locked(false, true));
}

TEST(QueueSpin, GivingWayWithoutAnFdYields) {
  QueueState::give_way(-1);  // returns at once when no one else wants the CPU
  SUCCEED();
}

TEST(QueueSpin, GivingWayOnAReadableFdReturnsAtOnce) {
  // An fd that is already readable (a completion signalled) ends the wait;
  // a quiet one ends it after kGiveWay. Neither bound is timed here: both
  // only have to return.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  QueueState::give_way(fds[0]);
  char c = 0;
  EXPECT_EQ(read(fds[0], &c, 1), 1) << "give_way only waits, it reads nothing";
  QueueState::give_way(fds[0]);  // now quiet: returns after the bound
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
