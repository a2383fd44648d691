// Where the core and the devices read time: a real clock by default, a manual one in tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace asynccrypt {

// Clock is a source of time points. Every bound the library keeps on time
// (how long a completion may be held back, what an operation costs, how long
// a poll may run) reads one through this interface, so tests can replace
// real time with a ManualClock and no test depends on how fast the machine
// is. Implementations must be thread-safe: workers and owners read the same
// clock at once.
//
// Time points of different clocks do not mix: a bound must be measured
// twice on the same clock.
class Clock {
 public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<Clock, duration>;

  virtual ~Clock() = default;

  // The current time point; never goes backwards.
  virtual time_point now() const = 0;

  // std::chrono::steady_clock: wall time, the default wherever a bound is
  // on how long someone waits. Never destroyed.
  static const Clock& steady();
  // The CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): leaves
  // out the time the thread was preempted, which on a busy machine dwarfs
  // small operations. Only intervals read on one thread mean anything.
  // Never destroyed.
  static const Clock& thread_cpu();
  // CLOCK_MONOTONIC_COARSE: wall time in steps of a scheduler tick (4 ms
  // here) for a few nanoseconds a reading, where std::chrono::steady_clock
  // costs about 25 ns on this VM (kvm-clock). For periods read once per
  // operation that may be a tick late (OpCosts' resamples). Never destroyed.
  static const Clock& coarse();
};

// `clock`, or when it is null the process-wide `fallback` (one of the
// clocks above, not owned: a shared_ptr that aliases it). For the classes
// that take a clock from tests and use a real one otherwise.
inline std::shared_ptr<const Clock> clock_or(std::shared_ptr<const Clock> clock,
                                             const Clock& fallback) {
  if (clock) return clock;
  return std::shared_ptr<const Clock>(std::shared_ptr<const Clock>(), &fallback);
}

// ManualClock moves only when told: advance() by hand, or by `step` at every
// reading (set_step), so that an interval measured between two readings,
// such as an operation's cost, has exactly the length a test chose. Starts
// at the epoch. Thread-safe.
class ManualClock final : public Clock {
 public:
  // Returns the current time point, then moves the clock on by the step.
  time_point now() const override {
    const std::int64_t step = step_ns_.load(std::memory_order_relaxed);
    return time_point(duration(now_ns_.fetch_add(step, std::memory_order_relaxed)));
  }
  void advance(duration d) { now_ns_.fetch_add(d.count(), std::memory_order_relaxed); }
  // How far each now() moves the clock after reading it (0: not at all).
  void set_step(duration d) { step_ns_.store(d.count(), std::memory_order_relaxed); }

 private:
  mutable std::atomic<std::int64_t> now_ns_{0};
  std::atomic<std::int64_t> step_ns_{0};
};

}  // namespace asynccrypt
