// At most one turn per period, for the threads device's occasional hand-offs.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace asynccrypt {

// PeriodicTurn hands out at most one turn per period: the first caller that
// finds the period over takes the turn, everyone else carries on without
// one. Used for the threads device's occasional hand-offs that only exist to
// learn something (OpCosts' resamples, LoneOpRule's probes), so that their
// cost is bounded in time whatever the rate of operations. Lock-free; the
// caller reads the clock (one reading serves both checks).
class PeriodicTurn {
 public:
  // True while a turn is due (none taken since the period began); takes
  // nothing.
  bool due(Clock::time_point now) const {
    return now.time_since_epoch().count() >= next_ns_.load(std::memory_order_relaxed);
  }

  // True for the one caller that takes a due turn; the next one is due
  // `period` after now.
  bool take(Clock::time_point now, Clock::duration period) {
    const std::int64_t now_ns = now.time_since_epoch().count();
    std::int64_t next = next_ns_.load(std::memory_order_relaxed);
    if (now_ns < next) return false;
    return next_ns_.compare_exchange_strong(next, now_ns + period.count(),
                                            std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> next_ns_{0};  // on the caller's clock; 0: due at once
};

}  // namespace asynccrypt
