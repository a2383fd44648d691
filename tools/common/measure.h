// Measurement helpers of the TLS perf tools, `asynccrypt bench` and the
// benchmarks in bench/: one definition each of a percentile, CPU time, the
// CPU count and a seeded generator, so that "p99" means the same everywhere.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace asynccrypt::measure {

// nearest_rank_index is the index, in n sorted values, of the p-quantile
// (p in [0, 1]) by the nearest-rank definition: the smallest value with at
// least a share p of the values at or below it. n must be > 0.
inline std::size_t nearest_rank_index(std::size_t n, double p) {
  const double rank = std::ceil(p * static_cast<double>(n));
  const std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return std::min(index, n - 1);
}

// percentile returns the nearest-rank p-quantile (p in [0, 1]) of sorted
// values; 0 when there are none.
template <typename T>
double percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return 0;
  return static_cast<double>(sorted[nearest_rank_index(sorted.size(), p)]);
}

// percentile_unsorted is percentile for values in any order; it reorders
// them (std::nth_element) instead of sorting.
template <typename T>
double percentile_unsorted(std::vector<T>& values, double p) {
  if (values.empty()) return 0;
  const auto k = static_cast<std::ptrdiff_t>(nearest_rank_index(values.size(), p));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return static_cast<double>(values[static_cast<std::size_t>(k)]);
}

// process_cpu_seconds is the user + system CPU time of the whole process so
// far (every thread); 0 if the system will not say.
double process_cpu_seconds();

// thread_cpu_seconds is the CPU time of the calling thread so far; 0 if the
// system will not say.
double thread_cpu_seconds();

// cpu_count is the number of online CPUs, at least 1.
int cpu_count();

// SplitMix64 is a small seeded generator (Steele, Lea and Flood's
// SplitMix64): the same seed gives the same sequence, so a seeded run
// repeats. Not for secrets.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() { return mix(state_ += kGamma); }
  // uniform is a double in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // mix is the generator's output function: a well-spread 64-bit hash of z.
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  static constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;

 private:
  std::uint64_t state_;
};

}  // namespace asynccrypt::measure
