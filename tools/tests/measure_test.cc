// Tests of tools/common/measure.h: one percentile for every report, the
// generator's sequence, CPU time and count.
#include "common/measure.h"

#include <gtest/gtest.h>

#include <vector>

#include "driver.h"  // asynccrypt bench's Latencies

namespace {

namespace measure = asynccrypt::measure;

TEST(Measure, PercentileIsNearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 10; ++i) v.push_back(i);
  EXPECT_EQ(measure::percentile(v, 0.5), 5);  // 5 of 10 values at or below
  EXPECT_EQ(measure::percentile(v, 0.9), 9);
  EXPECT_EQ(measure::percentile(v, 0.99), 10);
  EXPECT_EQ(measure::percentile(v, 0), 1);
  EXPECT_EQ(measure::percentile(v, 1), 10);
  EXPECT_EQ(measure::percentile(std::vector<double>{}, 0.5), 0);
  std::vector<float> shuffled = {7, 3, 10, 1, 9, 2, 8, 4, 6, 5};
  EXPECT_EQ(measure::percentile_unsorted(shuffled, 0.5), 5);
}

// Issue 13: `asynccrypt bench` and the perf tools named different values
// "p99"; both now give the nearest rank.
TEST(Measure, BenchLatenciesAgreeWithThePerfTools) {
  asynccrypt::bench::Latencies lat;
  std::vector<double> sorted;
  for (int i = 1; i <= 10; ++i) {
    lat.add(i);
    sorted.push_back(i);
  }
  for (const double p : {50.0, 90.0, 99.0}) {
    EXPECT_EQ(lat.percentile(p), measure::percentile(sorted, p / 100)) << "p" << p;
  }
}

TEST(Measure, SplitMix64IsTheReferenceSequence) {
  measure::SplitMix64 g(0);
  EXPECT_EQ(g.next(), 0xE220A8397B1DCDAFULL);  // the published first output for seed 0
  measure::SplitMix64 a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
  for (int i = 0; i < 1000; ++i) {
    const double u = a.uniform();
    EXPECT_GE(u, 0);
    EXPECT_LT(u, 1);
  }
}

TEST(Measure, CpuTimeAndCount) {
  EXPECT_GE(measure::cpu_count(), 1);
  const double t0 = measure::thread_cpu_seconds();
  const double p0 = measure::process_cpu_seconds();
  volatile double x = 0;
  for (int i = 0; i < 20000000 && measure::thread_cpu_seconds() - t0 < 0.02; ++i) x = x + i;
  EXPECT_GT(measure::thread_cpu_seconds(), t0);
  EXPECT_GE(measure::process_cpu_seconds(), p0);
}

}  // namespace
