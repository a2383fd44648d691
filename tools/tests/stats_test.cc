// Tests of tools/perf/stats.h: bounded latency storage and its percentiles.
#include "perf/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace {

using perf::Counters;
using perf::LatencySamples;

// Issue 14.13: a server that runs until SIGTERM (-n 0) must not keep every
// handshake's latency.
TEST(LatencySamples, MemoryStaysBoundedCountAndMaxStayExact) {
  Counters c;
  const long n = 3 * static_cast<long>(LatencySamples::kCapacity);
  for (long i = 0; i < n; ++i) c.latency_ms.add(static_cast<double>(i % 1000));
  c.latency_ms.add(5000);
  EXPECT_EQ(c.latency_ms.samples().size(), LatencySamples::kCapacity);
  EXPECT_EQ(c.latency_ms.count(), n + 1);
  EXPECT_EQ(c.latency_ms.max(), 5000);
}

TEST(LatencySamples, ExactWhileUnderCapacity) {
  LatencySamples s(100);
  for (int i = 1; i <= 100; ++i) s.add(i);
  std::vector<double> sorted = s.samples();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(perf::percentile(sorted, 0.50), 50);
  EXPECT_EQ(perf::percentile(sorted, 0.99), 99);
  EXPECT_EQ(s.max(), 100);
}

// Beyond capacity the sample stays uniform: the median of 0..999 repeated
// is near 500.
TEST(LatencySamples, SampleStaysRepresentative) {
  LatencySamples s(1000);
  for (int i = 0; i < 200000; ++i) s.add(i % 1000);
  std::vector<double> sorted = s.samples();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NEAR(perf::percentile(sorted, 0.50), 500, 60);
  EXPECT_NEAR(perf::percentile(sorted, 0.90), 900, 40);
}

TEST(LatencySamples, MergeUnderCapacityIsTheUnion) {
  LatencySamples a(100), b(100);
  for (int i = 0; i < 30; ++i) a.add(1);
  for (int i = 0; i < 20; ++i) b.add(2);
  a.merge(b);
  EXPECT_EQ(a.count(), 50);
  EXPECT_EQ(a.samples().size(), 50u);
  EXPECT_EQ(std::count(a.samples().begin(), a.samples().end(), 2.0), 20);
  EXPECT_EQ(a.max(), 2);
}

// Merging two full samples weights each by the values it stands for: one
// loop saw 9 times as many handshakes as the other.
TEST(LatencySamples, MergeBeyondCapacityKeepsTheWeights) {
  LatencySamples a(1000), b(1000);
  for (int i = 0; i < 90000; ++i) a.add(1);
  for (int i = 0; i < 10000; ++i) b.add(2);
  a.merge(b);
  EXPECT_EQ(a.count(), 100000);
  EXPECT_EQ(a.samples().size(), 1000u);
  const auto twos = std::count(a.samples().begin(), a.samples().end(), 2.0);
  EXPECT_NEAR(static_cast<double>(twos), 100, 40);
  EXPECT_EQ(a.max(), 2);
}

TEST(Counters, MergeAddsTimeoutsAndLatencies) {
  Counters a, b;
  a.timeouts = 2;
  b.timeouts = 3;
  b.accept_backoffs = 1;
  b.latency_ms.add(7);
  a.merge(b);
  EXPECT_EQ(a.timeouts, 5);
  EXPECT_EQ(a.accept_backoffs, 1);
  EXPECT_EQ(a.latency_ms.count(), 1);
  EXPECT_EQ(a.latency_ms.max(), 7);
}

}  // namespace
