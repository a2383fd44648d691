// What each kind of operation costs on the workers, learned while they run.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>

#include "backends/threads/xorshift.h"

namespace asynccrypt {

// OpCosts keeps, for each cost class (a WC_ASYNC_SW_TYPE, with RSA on public
// keys apart: wolfcrypt::cost_class), an estimate of the CPU time
// one operation takes on a worker. The threads device uses it to leave
// operations that cost less than a hand-over (an AES-GCM record with AES-NI
// takes a few microseconds; waking a worker and then the owner costs more
// than that in CPU and latency) to the caller, where wolfCrypt runs them
// synchronously without pending.
//
// The estimate leans to the expensive side: one type often covers cheap and
// costly operations (ASYNC_SW_RSA_FUNC is both a 2048-bit private key
// operation and the public check wolfSSL runs after signing), and running a
// costly one on the event loop hurts far more than sending a cheap one to a
// worker. So a sample above the estimate replaces it at once, and samples
// below it pull it down by 1/16 of the difference each.
//
// Only operations that went to a worker are measured, so a type judged
// cheap still goes to a worker now and then, chosen at random (a fixed
// stride could keep hitting the cheap half of a pattern that alternates),
// and the estimate follows the workload: about once in kResample times
// (threshold / estimate), at most kResample * kMaxSpread. The cheaper the
// kind, the rarer: a resample costs a whole hand-off, which is 100 AES-GCM
// records of 1 KiB, so a fixed rate would cost the cheapest kinds most.
//
// Lock-free and shared by every worker of a pool: two workers that record
// at once may lose one sample, which an estimate can afford.
class OpCosts {
 public:
  static constexpr int kTypes = 18;  // cost classes fit below this (wolfcrypt::kCostClasses)
  static constexpr std::uint32_t kResample = 64;
  static constexpr std::uint64_t kMaxSpread = 256;

  // Adds one sample: an operation of `type` took `ns` of a worker's CPU.
  void record(int type, std::uint64_t ns) {
    if (type <= 0 || type >= kTypes) return;
    const auto sample = static_cast<std::int64_t>(ns < kMaxSampleNs ? ns : kMaxSampleNs);
    std::atomic<std::uint32_t>& estimate = estimate_ns_[static_cast<std::size_t>(type)];
    const std::int64_t old = estimate.load(std::memory_order_relaxed);
    const std::int64_t next = sample >= old ? sample : old - (old - sample) / 16;
    estimate.store(static_cast<std::uint32_t>(next > 0 ? next : 1), std::memory_order_relaxed);
  }

  // True when operations of `type` are known to cost less than
  // threshold_ns, except for about one answer in kResample * (threshold_ns /
  // estimate), at most kResample * kMaxSpread. Types never measured are not
  // cheap: they go to a worker and get measured.
  bool cheaper_than(int type, std::uint64_t threshold_ns) {
    return judge(type, threshold_ns) == Verdict::kCheap;
  }

  // cheaper_than's answer, telling the resamples apart: kResample is a
  // cheap type's turn to go to a worker, where it must be measured (a
  // worker measures only one operation in measure_every otherwise, and an
  // unmeasured resample pays a hand-off for nothing).
  enum class Verdict { kCostly, kCheap, kResample };
  Verdict judge(int type, std::uint64_t threshold_ns) {
    if (type <= 0 || type >= kTypes) return Verdict::kCostly;
    const std::uint32_t estimate =
        estimate_ns_[static_cast<std::size_t>(type)].load(std::memory_order_relaxed);
    if (estimate == 0 || estimate >= threshold_ns) return Verdict::kCostly;
    const std::uint64_t spread = std::min<std::uint64_t>(threshold_ns / estimate, kMaxSpread);
    return next_random() % (kResample * spread) != 0 ? Verdict::kCheap : Verdict::kResample;
  }

  // The estimate in nanoseconds, 0 when never measured (tests, statistics).
  std::uint32_t estimate_ns(int type) const {
    if (type <= 0 || type >= kTypes) return 0;
    return estimate_ns_[static_cast<std::size_t>(type)].load(std::memory_order_relaxed);
  }

 private:
  // A page-faulting first run must not pin a type as costly for long, and
  // the estimate must fit 32 bits: samples count at most 100 ms.
  static constexpr std::uint64_t kMaxSampleNs = 100'000'000;

  // xorshift32 per thread: cheap, and good enough to pick resamples.
  static std::uint32_t next_random() {
    thread_local std::uint32_t state =
        0x9E3779B9u ^ static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&state));
    state = xorshift32(state);
    return state;
  }

  std::array<std::atomic<std::uint32_t>, kTypes> estimate_ns_{};
};

}  // namespace asynccrypt
