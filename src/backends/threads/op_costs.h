// What each kind of operation costs on the workers, learned while they run.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "backends/threads/periodic_turn.h"
#include "core/clock.h"

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
// cheap still goes to a worker now and then to keep its estimate current:
// the first cheap verdict for it after every kResamplePeriod (a resample).
// By time rather than by count: a resample costs a whole hand-off (10-20 us
// of CPU here), while a cheap kind costs anything from 0.3 us (an AES-GCM
// record of 1 KiB in the caller) to the threshold, so any fixed share of
// operations costs the cheapest kinds most (AES-GCM records of 1 KiB at 64
// in flight: 5-8% of them went to a worker, and the rate fell to 0.5-0.8x
// synchronous). At one per period, resampling costs about a thousandth of
// a core, whatever the kind and however fast it runs.
// The period is read on a coarse clock (a few ns a reading, 4 ms steps).
//
// Lock-free and shared by every worker of a pool: two workers that record
// at once may lose one sample, which an estimate can afford.
class OpCosts {
 public:
  static constexpr int kTypes = 18;  // cost classes fit below this (wolfcrypt::kCostClasses)
  static constexpr std::chrono::milliseconds kResamplePeriod{10};

  // resample_clock: what kResamplePeriod is measured on; null means
  // Clock::coarse(). Tests pass a ManualClock.
  explicit OpCosts(std::shared_ptr<const Clock> resample_clock = nullptr)
      : resample_clock_(clock_or(std::move(resample_clock), Clock::coarse())) {}

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
  // threshold_ns, except for one answer per kResamplePeriod. Types never
  // measured are not cheap: they go to a worker and get measured.
  bool cheaper_than(int type, std::uint64_t threshold_ns) {
    return judge(type, threshold_ns) == Verdict::kCheap;
  }

  // cheaper_than's answer, telling the resamples apart: kResample is a
  // cheap type's turn to go to a worker, where it must be measured (a
  // worker measures only one operation in measure_every otherwise, and an
  // unmeasured resample pays a hand-off for nothing). Called for every
  // operation of the threads device, so it is a few loads and compares: no
  // division, one coarse clock reading for a cheap type, and a
  // compare-and-swap only when a resample is due (one caller wins it).
  enum class Verdict { kCostly, kCheap, kResample };
  Verdict judge(int type, std::uint64_t threshold_ns) {
    if (!measured_cheap(type, threshold_ns)) return Verdict::kCostly;
    return resamples_[static_cast<std::size_t>(type)].take(resample_clock_->now(), kResamplePeriod)
               ? Verdict::kResample
               : Verdict::kCheap;
  }

  // judge() == kCheap without taking a resample that is due: true when
  // `type` is cheap and its next resample is not yet due. For a shortcut
  // that must leave every other case to judge().
  bool cheap_and_not_due(int type, std::uint64_t threshold_ns) const {
    return measured_cheap(type, threshold_ns) &&
           !resamples_[static_cast<std::size_t>(type)].due(resample_clock_->now());
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

  // `type` is in range and measured below threshold_ns.
  bool measured_cheap(int type, std::uint64_t threshold_ns) const {
    const std::uint32_t estimate = estimate_ns(type);  // 0 when out of range
    return estimate != 0 && estimate < threshold_ns;
  }

  const std::shared_ptr<const Clock> resample_clock_;
  std::array<std::atomic<std::uint32_t>, kTypes> estimate_ns_{};
  // Each type's resample turns, on resample_clock_.
  std::array<PeriodicTurn, kTypes> resamples_{};
};

}  // namespace asynccrypt
