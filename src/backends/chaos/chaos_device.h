// The chaos device: a seeded test device that delays, reorders and fails operations on purpose.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/device.h"
#include "core/device_spec.h"

namespace asynccrypt {

// ChaosRandom is SplitMix64: tiny, and the same sequence on every platform
// and standard library (std:: distributions are implementation-defined).
class ChaosRandom {
 public:
  explicit ChaosRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [0, n) for n >= 1 (the modulo bias is irrelevant here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

// ChaosDevice finds bugs in callers of the asynchronous API by doing, on
// purpose and reproducibly, what real hardware may do:
//  - every operation pends: a poll never finishes an operation the first
//    time it visits it;
//  - an operation finishes only after a random number of polls with
//    WOLF_POLL_FLAG_CHECK_HW (1..maxpolls polls pending, then the one that
//    runs it), so operations of one queue finish out of submission order;
//  - polls without WOLF_POLL_FLAG_CHECK_HW never finish anything;
//  - on request, a share of operations fails with WC_HW_E without being run
//    (the object's record is cleared, so the object is usable afterwards).
// The same seed gives the same run when one thread submits and polls: every
// random choice is drawn, under a mutex, in the order the device sees
// operations. The seed is printed on stderr when the device opens.
//
// Layered (over=threads) it is a worker device instead: operations run on
// the threads device's pool, each reported after a random extra delay of up
// to `delay` microseconds on its worker, so completions arrive out of order
// in time; injected failures are reported at once, without reaching a
// worker. Runs are then no longer reproducible (threads race), only the
// sequence of choices is.
//
// Options: seed=S (default: from the clock), maxpolls=K (1..1000, default
// 4), fail=P (percent, 0..100) or failpm=N (per mille, 0..1000; not both),
// over=threads with workers=N, depth=D and delay=US (0..1000000 µs,
// default 200), which only make sense layered.
class ChaosDevice final : public Device {
 public:
  static constexpr long kDefaultMaxPolls = 4;
  static constexpr long kMaxMaxPolls = 1000;
  static constexpr long kDefaultDelayUs = 200;
  static constexpr long kMaxDelayUs = 1000000;

  struct Options {
    std::uint64_t seed = 0;
    int max_polls = kDefaultMaxPolls;
    int fail_per_mille = 0;
    int delay_us = kDefaultDelayUs;  // layered only
  };

  // Fails with BAD_FUNC_ARG on a bad or unknown option, or an option that
  // needs over=threads without it; ASYNC_INIT_E when the pool cannot start.
  static Result<std::shared_ptr<Device>> create(DeviceSpec spec);

  // Poll-driven when inner is null, else layered over inner (a worker
  // device).
  ChaosDevice(const Options& options, std::shared_ptr<Device> inner);

  const char* kind() const override { return "chaos"; }
  bool runs_on_poll() const override { return inner_ == nullptr; }
  bool drive(Op* op, int visit) override;
  bool submit(Op* op, CompletionSink& sink) override;
  bool cancel(Op* op) override;

  const Options& options() const { return options_; }
  bool layered() const { return inner_ != nullptr; }
  // Operations failed on purpose so far.
  std::uint64_t injected_failures() const { return injected_.load(std::memory_order_relaxed); }

 private:
  // One operation's random choices, drawn under mu_.
  struct Draw {
    int polls;  // polls it stays pending (poll-driven) or µs of delay (layered)
    bool fail;
  };
  Draw draw(int range);
  void fail_now(Op* op);

  const Options options_;
  const std::shared_ptr<Device> inner_;  // the threads device when layered
  std::mutex mu_;
  ChaosRandom random_;                      // guarded by mu_
  std::atomic<std::uint64_t> injected_{0};  // statistics only: relaxed
};

}  // namespace asynccrypt
