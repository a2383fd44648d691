// Whether a submitter has anything to do while its operation runs elsewhere.
#pragma once

#include <atomic>
#include <cstdint>

#include "backends/threads/xorshift.h"

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
//    the probe in flight). A probe costs one hand-off per kProbe operations,
//    under 2% of an ECDSA signature's time.
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

  // Returns true to run the operation in the caller. `in_flight`: the
  // device's operations submitted and not yet taken back by their owners
  // (DeviceCounters::unharvested), now.
  bool run_inline(std::uint32_t in_flight) {
    const std::uint32_t old = overlap_.load(std::memory_order_relaxed);
    if (in_flight > 0) {
      const std::uint32_t raised = old + (kOne - old) / 8;
      overlap_.store(raised > kOne / 2 ? raised : kOne / 2, std::memory_order_relaxed);
      return false;
    }
    overlap_.store(old - (old + 7) / 8, std::memory_order_relaxed);
    if (old >= kOne / 4) return false;
    return next_random() % kProbe != 0;
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

  std::atomic<std::uint32_t> overlap_{kOne};
  std::atomic<std::uint32_t> random_{0x9E3779B9u};
};

}  // namespace asynccrypt
