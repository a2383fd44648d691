// The real clocks behind Clock::steady(), Clock::thread_cpu() and Clock::coarse().
#include "core/clock.h"

#include <time.h>

#include "core/immortal.h"

namespace asynccrypt {
namespace {

class SteadyClock final : public Clock {
 public:
  time_point now() const override {
    return time_point(
        std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()));
  }
};

class ThreadCpuClock final : public Clock {
 public:
  time_point now() const override {
    timespec ts{};
    // Fails only for a bad clock id; this one always exists on Linux.
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

class CoarseClock final : public Clock {
 public:
  time_point now() const override {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // always exists on Linux
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

}  // namespace

const Clock& Clock::steady() {
  return immortal<SteadyClock>();  // first used on an operation's path
}

const Clock& Clock::thread_cpu() { return immortal<ThreadCpuClock>(); }

const Clock& Clock::coarse() { return immortal<CoarseClock>(); }

}  // namespace asynccrypt
