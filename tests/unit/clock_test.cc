// Tests of the clocks (src/core/clock.cc): real ones never go back, a manual one moves when told.
#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

namespace {

using asynccrypt::Clock;
using asynccrypt::ManualClock;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(ManualClock, StandsStillUntilAdvanced) {
  ManualClock clock;
  EXPECT_EQ(clock.now().time_since_epoch(), nanoseconds(0));
  EXPECT_EQ(clock.now().time_since_epoch(), nanoseconds(0));
  clock.advance(microseconds(200));
  EXPECT_EQ(clock.now().time_since_epoch(), microseconds(200));
}

TEST(ManualClock, StepMovesItAfterEachReading) {
  ManualClock clock;
  clock.set_step(microseconds(5));
  const Clock::time_point t0 = clock.now();
  const Clock::time_point t1 = clock.now();
  EXPECT_EQ(t0.time_since_epoch(), nanoseconds(0)) << "a reading returns the time, then steps";
  EXPECT_EQ(t1 - t0, microseconds(5)) << "two readings are one step apart";
  clock.set_step(nanoseconds(0));
  EXPECT_EQ(clock.now(), clock.now());
}

// Only monotonicity: how fast real time passes is the machine's business.
TEST(RealClocks, NeverGoBack) {
  for (const Clock* clock : {&Clock::steady(), &Clock::thread_cpu(), &Clock::coarse()}) {
    Clock::time_point last = clock->now();
    for (int i = 0; i < 1000; ++i) {
      const Clock::time_point now = clock->now();
      EXPECT_GE(now, last);
      last = now;
    }
  }
}

TEST(RealClocks, AreOneInstanceEach) {
  EXPECT_EQ(&Clock::steady(), &Clock::steady());
  EXPECT_EQ(&Clock::thread_cpu(), &Clock::thread_cpu());
  EXPECT_EQ(&Clock::coarse(), &Clock::coarse());
  EXPECT_NE(static_cast<const void*>(&Clock::steady()),
            static_cast<const void*>(&Clock::thread_cpu()));
  EXPECT_NE(static_cast<const void*>(&Clock::steady()), static_cast<const void*>(&Clock::coarse()));
}

// The coarse clock is wall time in ticks: it moves on while a thread sleeps
// (the thread's CPU clock would not). How far is the machine's business; a
// sleep of 50 ms spans at least one tick wherever ticks are under 50 ms.
TEST(RealClocks, CoarseTimeMovesOnWhileAThreadSleeps) {
  const Clock::time_point before = Clock::coarse().now();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GT(Clock::coarse().now(), before);
}

TEST(ClockOr, GivesTheClockGivenOrTheFallbackUnowned) {
  auto manual = std::make_shared<ManualClock>();
  EXPECT_EQ(asynccrypt::clock_or(manual, Clock::coarse()), manual);
  const std::shared_ptr<const Clock> fallback = asynccrypt::clock_or(nullptr, Clock::coarse());
  EXPECT_EQ(fallback.get(), &Clock::coarse());
  EXPECT_EQ(fallback.use_count(), 0) << "not owned: the real clocks are never destroyed";
}

}  // namespace
