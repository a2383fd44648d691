// Whether a submitter has anything to do while its operation runs elsewhere.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "backends/threads/periodic_turn.h"
#include "backends/threads/xorshift.h"
#include "core/clock.h"

namespace asynccrypt {

// LoneOpRule decides, for an operation worth a hand-off, whether the
// threads device should leave it to the caller (declined: wolfCrypt computes
// it at once) because handing it over would only make the caller wait.
//
// A hand-off pays when the submitter has other work meanwhile: other
// operations to start, other connections to serve. It costs the caller a
// wake-up and two cross-core hand-overs (about 25 us of latency and 10 us of
// CPU on a small VM), which is more than an ECDSA P-256 signature. So a
// caller that submits one operation and then waits for it (one connection, a
// depth-1 loop, a blocking wrapper) is faster computing it itself.
//
// The evidence is what the device sees at each submission: another of its
// operations still in flight (submitted and not yet harvested, even if a
// worker has finished it) means the caller went on with other work while
// one ran. The rule keeps `overlap`, a moving average (fixed point,
// kOne = always) of that, over the last ~8 submissions:
//  - another operation in flight now: hand it over (the caller is busy with
//    several; the cores are worth it), and count the average as at least a
//    half: one such sighting while operations ran inline (after a probe) is
//    proof enough, or a caller with two at a time, whose every other
//    submission finds nothing in flight, could never climb back;
//  - nothing in flight, and recent submissions usually overlapped
//    (overlap >= kOne / 4): hand it over (a burst starts with one);
//  - nothing in flight and little overlap: run it in the caller, except
//    about one such operation in kProbe, which still goes to a worker: while
//    everything runs inline nothing is ever in flight, and only a probe can
//    show that the caller now has other work (its next submission then finds
//    the probe in flight). A probe costs a hand-off (about 28 us more than
//    an ECDSA P-256 signature run inline, here); one in kProbe cost such a
//    caller 2% of its rate, so probes are also kProbeGap apart at least:
//    one in kProbe for slow operations (RSA: 0.1%), at most one per
//    kProbeGap for fast ones (under 1% of the time, whatever the kind).
// With two at a time the average settles near a half (every other
// submission finds one in flight), so such a caller keeps handing over.
//
// It starts at kOne (assume overlap), so the first operations of a busy
// loop are never kept on it. Lock-free; several threads submitting to one
// device may lose an update, which an average can afford.
class LoneOpRule {
 public:
  static constexpr std::uint32_t kOne = 1024;
  static constexpr std::uint32_t kProbe = 64;
  static constexpr std::chrono::milliseconds kProbeGap{4};

  // clock: what kProbeGap is measured on; null means Clock::coarse().
  // Tests pass a ManualClock.
  explicit LoneOpRule(std::shared_ptr<const Clock> clock = nullptr)
      : clock_(clock_or(std::move(clock), Clock::coarse())) {}

  // Returns true to run the operation in the caller. `in_flight`: the
  // device's operations submitted and not yet taken back by their owners
  // (DeviceCounters::unharvested), now. *probe (when given) says whether a
  // false answer is a probe.
  bool run_inline(std::uint32_t in_flight, bool* probe = nullptr) {
    if (probe != nullptr) *probe = false;
    const std::uint32_t old = overlap_.load(std::memory_order_relaxed);
    if (in_flight > 0) {
      const std::uint32_t raised = old + (kOne - old) / 8;
      overlap_.store(raised > kOne / 2 ? raised : kOne / 2, std::memory_order_relaxed);
      return false;
    }
    overlap_.store(old - (old + 7) / 8, std::memory_order_relaxed);
    if (old >= kOne / 4) return false;
    if (next_random() % kProbe != 0 || !probes_.take(clock_->now(), kProbeGap)) return true;
    if (probe != nullptr) *probe = true;
    return false;
  }

  // The current average, kOne = every recent submission overlapped (tests).
  std::uint32_t overlap() const { return overlap_.load(std::memory_order_relaxed); }

 private:
  // Probes are picked at random: a fixed stride would keep
  // hitting the same place in a caller's pattern (every second operation of
  // a pair, where a probe shows nothing). Seeded the same in every rule, so
  // a single-threaded run repeats exactly.
  std::uint32_t next_random() {
    const std::uint32_t x = xorshift32(random_.load(std::memory_order_relaxed));
    random_.store(x, std::memory_order_relaxed);
    return x;
  }

  const std::shared_ptr<const Clock> clock_;
  PeriodicTurn probes_;  // kProbeGap apart at least, on clock_
  std::atomic<std::uint32_t> overlap_{kOne};
  std::atomic<std::uint32_t> random_{0x9E3779B9u};
};

}  // namespace asynccrypt
