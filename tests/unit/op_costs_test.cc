// OpCosts: the threads device's estimate of what each operation kind costs.
#include "backends/threads/op_costs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace asynccrypt {
namespace {

constexpr int kAesGcm = 11;  // ASYNC_SW_AES_GCM_ENCRYPT
constexpr int kRsa = 6;      // ASYNC_SW_RSA_FUNC
constexpr std::uint64_t kThreshold = 10'000;

// How many of `n` answers for `type` say "cheap".
int cheap_answers(OpCosts& costs, int type, int n) {
  int cheap = 0;
  for (int i = 0; i < n; ++i) cheap += costs.cheaper_than(type, kThreshold) ? 1 : 0;
  return cheap;
}

TEST(OpCosts, UnmeasuredTypesAreNotCheap) {
  OpCosts costs;
  EXPECT_EQ(costs.estimate_ns(kAesGcm), 0u);
  EXPECT_EQ(cheap_answers(costs, kAesGcm, 1000), 0) << "unknown kinds go to a worker";
}

TEST(OpCosts, OutOfRangeTypesAreIgnored) {
  OpCosts costs;
  for (int type : {-1, 0, OpCosts::kTypes, 1000}) {
    costs.record(type, 1);
    EXPECT_FALSE(costs.cheaper_than(type, kThreshold)) << type;
    EXPECT_EQ(costs.estimate_ns(type), 0u) << type;
  }
}

// OpCosts whose resamples are timed on a clock the test moves.
struct TimedCosts {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  OpCosts costs{clock};
};

TEST(OpCosts, CheapTypesAreDeclinedButResampledOncePerPeriod) {
  TimedCosts t;
  t.costs.record(kAesGcm, 5'000);
  EXPECT_EQ(t.costs.estimate_ns(kAesGcm), 5'000u) << "the first sample is taken as it is";
  EXPECT_EQ(t.costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kResample)
      << "a second sample at once: the first may have been a cold run";
  // However many operations run, none more until the period has passed.
  EXPECT_EQ(cheap_answers(t.costs, kAesGcm, 100'000), 100'000);
  t.clock->advance(OpCosts::kResamplePeriod - std::chrono::nanoseconds(1));
  EXPECT_EQ(cheap_answers(t.costs, kAesGcm, 1000), 1000);
  t.clock->advance(std::chrono::nanoseconds(1));
  EXPECT_EQ(t.costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kResample);
  EXPECT_EQ(t.costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kCheap)
      << "one resample per period, however many callers ask";
}

TEST(OpCosts, EachKindHasItsOwnResampleTurn) {
  TimedCosts t;
  constexpr int kOther = 12;  // ASYNC_SW_AES_GCM_DECRYPT
  t.costs.record(kAesGcm, 1'000);
  t.costs.record(kOther, 1'000);
  EXPECT_EQ(t.costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kResample);
  EXPECT_EQ(t.costs.judge(kOther, kThreshold), OpCosts::Verdict::kResample);
  EXPECT_EQ(t.costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kCheap);
  EXPECT_EQ(t.costs.judge(kOther, kThreshold), OpCosts::Verdict::kCheap);
}

TEST(OpCosts, CheapAndNotDueLeavesTheResampleToJudge) {
  TimedCosts t;
  EXPECT_FALSE(t.costs.cheap_and_not_due(kAesGcm, kThreshold)) << "unmeasured";
  t.costs.record(kAesGcm, 1'000);
  // A resample is due: the shortcut must not say "cheap", nor take it.
  EXPECT_FALSE(t.costs.cheap_and_not_due(kAesGcm, kThreshold));
  EXPECT_FALSE(t.costs.cheap_and_not_due(kAesGcm, kThreshold));
  EXPECT_EQ(t.costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kResample);
  EXPECT_TRUE(t.costs.cheap_and_not_due(kAesGcm, kThreshold));
  t.clock->advance(OpCosts::kResamplePeriod);
  EXPECT_FALSE(t.costs.cheap_and_not_due(kAesGcm, kThreshold));
  // Costly kinds and types out of range are never "cheap".
  t.costs.record(kRsa, 50'000);
  EXPECT_FALSE(t.costs.cheap_and_not_due(kRsa, kThreshold));
  EXPECT_FALSE(t.costs.cheap_and_not_due(0, kThreshold));
  EXPECT_FALSE(t.costs.cheap_and_not_due(OpCosts::kTypes, kThreshold));
}

TEST(OpCosts, OneCallerWinsADueResample) {
  TimedCosts t;
  t.costs.record(kAesGcm, 1'000);
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::atomic<int> resamples{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        if (t.costs.judge(kAesGcm, kThreshold) == OpCosts::Verdict::kResample) ++resamples;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(resamples.load(), 1) << "the clock never moved: only the first was due";
}

TEST(OpCosts, TheRealCoarseClockIsTheDefault) {
  OpCosts costs;
  costs.record(kAesGcm, 1'000);
  EXPECT_EQ(costs.judge(kAesGcm, kThreshold), OpCosts::Verdict::kResample);
  // The next is due a period later on Clock::coarse(); at most a few of
  // these answers can straddle it on a slow machine.
  EXPECT_GE(cheap_answers(costs, kAesGcm, 1000), 998);
}

TEST(OpCosts, AnExpensiveSampleCountsAtOnce) {
  OpCosts costs;
  for (int i = 0; i < 100; ++i) costs.record(kRsa, 3'000);
  ASSERT_GT(cheap_answers(costs, kRsa, 100), 90);
  // A private-key operation among cheap public ones: the estimate jumps.
  costs.record(kRsa, 900'000);
  EXPECT_EQ(costs.estimate_ns(kRsa), 900'000u);
  EXPECT_EQ(cheap_answers(costs, kRsa, 1000), 0);
}

TEST(OpCosts, CheapSamplesPullTheEstimateDownSlowly) {
  OpCosts costs;
  costs.record(kAesGcm, 160'000);
  costs.record(kAesGcm, 0);
  // 1/16 of the difference per sample.
  EXPECT_EQ(costs.estimate_ns(kAesGcm), 150'000u);
  int samples = 1;
  while (costs.estimate_ns(kAesGcm) >= kThreshold && samples < 1000) {
    costs.record(kAesGcm, 1'000);
    ++samples;
  }
  // From 160 us to below 10 us takes dozens of cheap samples, not one.
  EXPECT_GT(samples, 30);
  EXPECT_LT(samples, 100);
}

TEST(OpCosts, HugeSamplesAreCapped) {
  OpCosts costs;
  costs.record(kRsa, std::uint64_t{1} << 40);
  EXPECT_EQ(costs.estimate_ns(kRsa), 100'000'000u);
}

}  // namespace
}  // namespace asynccrypt
