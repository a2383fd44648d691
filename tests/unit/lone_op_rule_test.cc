// LoneOpRule: when the threads device keeps an operation on its caller because
// nothing else is in flight and the caller's submissions seldom overlap.
#include "backends/threads/lone_op_rule.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"

namespace {

using asynccrypt::LoneOpRule;
using asynccrypt::ManualClock;

// A clock that moves by kProbeGap at each reading: probes are never held
// back by time, so the tests below see the rule's one in kProbe.
std::shared_ptr<ManualClock> gap_per_reading() {
  auto clock = std::make_shared<ManualClock>();
  clock->set_step(LoneOpRule::kProbeGap);
  return clock;
}

// Submissions that each find nothing else in flight, as from a caller that
// submits one operation and waits for it; returns how many ran inline.
int lone_submissions(LoneOpRule& rule, int n) {
  int kept = 0;
  for (int i = 0; i < n; ++i) kept += rule.run_inline(0) ? 1 : 0;
  return kept;
}

TEST(LoneOpRule, StartsByHandingOver) {
  LoneOpRule rule{gap_per_reading()};
  EXPECT_EQ(rule.overlap(), LoneOpRule::kOne);
  EXPECT_FALSE(rule.run_inline(0)) << "a busy loop's first operation is not kept on it";
}

TEST(LoneOpRule, OperationsWithOthersInFlightAlwaysGo) {
  LoneOpRule rule{gap_per_reading()};
  (void)lone_submissions(rule, 100);  // learned: a caller that waits
  ASSERT_LT(rule.overlap(), LoneOpRule::kOne / 4);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(rule.run_inline(1 + i % 3));
}

TEST(LoneOpRule, ACallerThatWaitsRunsInline) {
  LoneOpRule rule{gap_per_reading()};
  // Overlap falls by an eighth per lone submission: a dozen to leave the
  // burst assumption behind.
  int handed_over_first = 0;
  while (!rule.run_inline(0)) {
    ++handed_over_first;
    ASSERT_LT(handed_over_first, 20);
  }
  EXPECT_GE(handed_over_first, 8);
  EXPECT_LT(rule.overlap(), LoneOpRule::kOne / 4);
}

TEST(LoneOpRule, AboutOneLoneOperationInkProbeStillGoes) {
  LoneOpRule rule{gap_per_reading()};
  (void)lone_submissions(rule, 100);
  constexpr int kProbes = 200;
  const int n = kProbes * static_cast<int>(LoneOpRule::kProbe);
  const int handed_over = n - lone_submissions(rule, n);
  EXPECT_GT(handed_over, kProbes * 3 / 4);
  EXPECT_LT(handed_over, kProbes * 5 / 4);
}

TEST(LoneOpRule, ProbesFallOnEitherOperationOfAPair) {
  // A fixed stride of 64 would only ever pick the same one of two
  // alternating operations.
  LoneOpRule rule{gap_per_reading()};
  (void)lone_submissions(rule, 100);
  int firsts = 0;
  int seconds = 0;
  for (int i = 0; i < 64 * 64; ++i) {
    firsts += rule.run_inline(0) ? 0 : 1;
    seconds += rule.run_inline(0) ? 0 : 1;
    // No overlap is reported, so the rule stays at "inline".
  }
  EXPECT_GT(firsts, 16);
  EXPECT_GT(seconds, 16);
}

TEST(LoneOpRule, ProbesAreAtLeastAGapApart) {
  // Fast operations: far more than kProbe of them within one gap.
  auto clock = std::make_shared<ManualClock>();
  LoneOpRule rule{clock};
  (void)lone_submissions(rule, 100);
  clock->advance(LoneOpRule::kProbeGap);
  constexpr int kPerGap = 64 * 64;
  EXPECT_EQ(kPerGap - lone_submissions(rule, kPerGap), 1) << "one probe in the gap";
  EXPECT_EQ(kPerGap - lone_submissions(rule, kPerGap), 0) << "the clock stood still";
  clock->advance(LoneOpRule::kProbeGap);
  EXPECT_EQ(kPerGap - lone_submissions(rule, kPerGap), 1) << "one more once a gap had passed";
}

TEST(LoneOpRule, SaysWhichHandOversAreProbes) {
  LoneOpRule rule{gap_per_reading()};
  bool probe = true;
  EXPECT_FALSE(rule.run_inline(0, &probe)) << "a burst is assumed at first";
  EXPECT_FALSE(probe);
  EXPECT_FALSE(rule.run_inline(2, &probe)) << "others in flight";
  EXPECT_FALSE(probe);
  (void)lone_submissions(rule, 100);
  int probes = 0;
  int inline_runs = 0;
  for (int i = 0; i < 64 * 64; ++i) {
    if (rule.run_inline(0, &probe)) {
      EXPECT_FALSE(probe);
      ++inline_runs;
    } else {
      EXPECT_TRUE(probe) << "nothing in flight and a waiting caller: only a probe goes";
      ++probes;
    }
  }
  EXPECT_GT(probes, 0);
  EXPECT_EQ(probes + inline_runs, 64 * 64);
}

TEST(LoneOpRule, TheRealCoarseClockIsTheDefault) {
  LoneOpRule rule;
  (void)lone_submissions(rule, 100);
  // 64 x 64 lone submissions take well under a gap of 4 ms here, and even
  // a slow machine spans only a few gaps: a handful of probes, not 64.
  constexpr int kRuns = 64 * 64;
  EXPECT_LT(kRuns - lone_submissions(rule, kRuns), 16);
}

TEST(LoneOpRule, OverlapSeenAfterAProbeHandsOverAgain) {
  LoneOpRule rule{gap_per_reading()};
  (void)lone_submissions(rule, 100);
  // One submission that finds another in flight (the caller went on after a
  // probe) is enough; then even one that finds nothing in flight (the start
  // of the next burst) is handed over.
  EXPECT_FALSE(rule.run_inline(1));
  EXPECT_EQ(rule.overlap(), LoneOpRule::kOne / 2);
  EXPECT_FALSE(rule.run_inline(0));
}

TEST(LoneOpRule, ACallerWithTwoAtATimeKeepsHandingOver) {
  LoneOpRule rule{gap_per_reading()};
  (void)lone_submissions(rule, 100);
  EXPECT_FALSE(rule.run_inline(1));  // seen after a probe
  // Then pairs: the first of each finds nothing in flight, the second the
  // first.
  for (int i = 0; i < 500; ++i) {
    EXPECT_FALSE(rule.run_inline(0)) << "pair " << i;
    EXPECT_FALSE(rule.run_inline(1)) << "pair " << i;
  }
  EXPECT_GE(rule.overlap(), LoneOpRule::kOne / 4);
}

TEST(LoneOpRule, OverlapStaysWithinItsRange) {
  LoneOpRule rule{gap_per_reading()};
  for (int i = 0; i < 1000; ++i) (void)rule.run_inline(5);
  EXPECT_LE(rule.overlap(), LoneOpRule::kOne);
  (void)lone_submissions(rule, 1000);
  EXPECT_EQ(rule.overlap(), 0u);
}

}  // namespace
