// OpCosts: the threads device's estimate of what each operation kind costs.
#include "backends/threads/op_costs.h"

#include <gtest/gtest.h>

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

TEST(OpCosts, CheapTypesAreDeclinedButResampled) {
  OpCosts costs;
  costs.record(kAesGcm, 5'000);
  EXPECT_EQ(costs.estimate_ns(kAesGcm), 5'000u) << "the first sample is taken as it is";
  constexpr int kAnswers = 128 * 1000;
  const int cheap = cheap_answers(costs, kAesGcm, kAnswers);
  const int resampled = kAnswers - cheap;
  // At half the threshold, about one in 64 * 2 goes to a worker anyway
  // (random; 1000 expected).
  EXPECT_GT(resampled, 700);
  EXPECT_LT(resampled, 1300);
}

// How many of n answers for a kind estimated at estimate_ns were "not
// cheap": the resamples.
int resamples(std::uint64_t estimate_ns, int n) {
  OpCosts costs;
  costs.record(kAesGcm, estimate_ns);
  return n - cheap_answers(costs, kAesGcm, n);
}

TEST(OpCosts, CheaperKindsAreResampledLessOften) {
  constexpr int kAnswers = 256'000;
  // About one in 64 * 10 = 640 at a tenth of the threshold (400 expected),
  // one in 64 * 256 (kMaxSpread) at a thousandth (15 expected).
  const int tenth = resamples(kThreshold / 10, kAnswers);
  const int tiny = resamples(kThreshold / 1000, kAnswers);
  EXPECT_GT(tenth, 250);
  EXPECT_LT(tenth, 600);
  EXPECT_GT(tiny, 0) << "even the cheapest kind is resampled now and then";
  EXPECT_LT(tiny, 60);
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
