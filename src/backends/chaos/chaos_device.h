// The chaos device: a seeded test device that delays, reorders and fails operations on purpose.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

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
// Layered over any other kind (over=KIND, which opens through the table of
// kinds) it takes that device's style.
//
// Over a worker device (over=threads) it is a worker device: operations run
// on the inner device's workers, each reported after a random extra delay of
// up to `delay` microseconds on its worker, so completions arrive out of
// order in time; injected failures are reported at once, without reaching a
// worker. Runs are then no longer reproducible (threads race), only the
// sequence of choices is.
//
// Over a poll-driven device (over=dpdk, over=sim) it stays poll-driven and
// puts the inner device's work between two random delays, both counted in
// polls with WOLF_POLL_FLAG_CHECK_HW: an operation pends 1..maxpolls polls
// before the inner device first sees it (so operations reach the cryptodev
// out of submission order, in changing bursts), then is driven by the inner
// device until it finishes, then its result is held back 0..maxpolls-1
// further polls (so completions are reported late and out of order).
// Injected failures happen at the end of the first delay; the inner device
// never sees those operations. With one thread and the same seed the
// choices repeat; a CPU driver (crypto_aesni_mb) then repeats the run.
//
// Options of its own: seed=S (default: from the clock), maxpolls=K
// (1..1000, default 4), fail=P (percent, 0..100) or failpm=N (per mille,
// 0..1000; not both), over=KIND, and delay=US (0..1000000 µs, default 200)
// over a worker device only. Every other option is the inner device's,
// which rejects what it does not know: `chaos:seed=1,over=threads,workers=2`,
// `chaos:seed=1,over=dpdk,vdev=crypto_aesni_mb`, `chaos:over=sim,slices=8`.
// Not over chaos, nor over a device that answers wolfSSL's crypto callbacks
// (pkcs11: its id is its own, not chaos's).
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

  // Fails with BAD_FUNC_ARG on a bad or unknown option (the inner kind's
  // message for its own), an option without over=, delay= over a
  // poll-driven device, or a kind chaos cannot layer over; ASYNC_INIT_E when
  // the inner device cannot start (its message).
  static Result<std::shared_ptr<Device>> create(DeviceSpec spec);

  // Poll-driven when inner is null; else layered over inner, in its style.
  ChaosDevice(const Options& options, std::shared_ptr<Device> inner);

  const char* kind() const override { return "chaos"; }
  bool runs_on_poll() const override { return inner_ == nullptr || inner_->runs_on_poll(); }
  Admission submit(Op* op, CompletionSink& sink) override;
  bool poll(Op* op, const PollContext& context) override;
  bool cancel(Op* op) override;
  // The inner device's when layered (dpdk: AES-CBC/GCM), else every type.
  std::uint32_t capabilities() const override {
    return inner_ ? inner_->capabilities() : Device::capabilities();
  }
  // Layered: the inner device drops what it derived from the object (a
  // dpdk session holding the AES key), as it would alone.
  void forget(const WC_ASYNC_DEV* dev, word32 marker) override {
    if (inner_) inner_->forget(dev, marker);
  }
  // Layered: the inner device's (over=sim), so the C API reaches it.
  SliceBudgetControl* slice_budget_control() override {
    return inner_ ? inner_->slice_budget_control() : nullptr;
  }

  const Options& options() const { return options_; }
  bool layered() const { return inner_ != nullptr; }
  // The device it is layered over, or null.
  const std::shared_ptr<Device>& inner() const { return inner_; }
  // Operations failed on purpose so far.
  std::uint64_t injected_failures() const { return injected_.load(std::memory_order_relaxed); }

 private:
  // One operation's random choices, drawn under mu_.
  struct Draw {
    int polls;  // polls it stays pending (poll-driven) or µs of delay (layered)
    bool fail;
  };
  // Where an operation is over a poll-driven inner device. op->slot
  // belongs to the inner device there, so this lives beside the op.
  struct LayeredOp {
    enum class Stage { kBefore, kInner, kAfter } stage = Stage::kBefore;
    int before = 0;  // polls it still stays pending before the inner device sees it
    int after = 0;   // polls its finished result is still held back
    bool fail = false;
    CompletionSink* sink = nullptr;  // the core's, for the inner device's submit
  };
  Draw draw(int range);
  Draw draw_locked(int range);  // needs mu_
  void fail_now(Op* op);
  Admission admit_layered(Op* op, CompletionSink& sink);
  bool poll_layered(Op* op, const PollContext& context);

  const Options options_;
  const std::shared_ptr<Device> inner_;  // the device underneath when layered (over=)
  std::mutex mu_;
  ChaosRandom random_;  // guarded by mu_
  // Operations over a poll-driven inner device, admitted and not finished; the
  // map is guarded by mu_, an entry's fields belong to the thread driving
  // its op (the core never drives one op on two threads at once).
  std::unordered_map<const Op*, LayeredOp> layered_ops_;
  // Operations over a worker device, accepted and not yet reported: each
  // one's sink, which owns itself until it reports (cancel deletes the sink
  // of one withdrawn). Guarded by mu_.
  class DelayedSink;
  std::unordered_map<const Op*, DelayedSink*> delayed_ops_;
  std::atomic<std::uint64_t> injected_{0};  // statistics only: relaxed
};

}  // namespace asynccrypt
