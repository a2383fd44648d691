// The software simulator device: operations run on the polling thread, as in the original.
#pragma once

#include <atomic>
#include <memory>

#include "core/device.h"
#include "core/device_spec.h"

namespace asynccrypt {

// SliceBudget bounds the work one poll does on the operations whose math is
// non-blocking (wolfCrypt's WC_ECC_NONBLOCK: FP_WOULDBLOCK after each small
// step, a "slice"). The operations a poll visits share it in queue order:
// each runs slices until it finishes, or the poll has run `slices` slices or
// `budget_us` microseconds in all; the first always runs at least one slice,
// so the oldest operation always progresses. 0 means "no limit" for either
// field, not both. Operations that are not sliced run whole in one visit.
struct SliceBudget {
  int slices = 0;
  int budget_us = 0;

  // Limits accepted by the spec options and asynccrypt_DevSetSliceBudget.
  static constexpr int kMaxSlices = 1 << 20;
  static constexpr int kMaxBudgetUs = 1000000;

  // Measured on x86-64 (bench/nonblock_ecc_bench, docs/nonblock-ecc.md): a
  // P-256 slice lasts ~0.1 us (12,000 per sign), so one slice per poll spends
  // nearly all its time in poll overhead (0.2x the blocking rate); a 5 us
  // budget keeps a poll with sign, verify and ECDH in flight near 6 us
  // (p99 ~10 us) with sign at ~0.5x the blocking rate.
  static constexpr int kDefaultSlices = 0;
  static constexpr int kDefaultBudgetUs = 5;

  // BAD_FUNC_ARG with a message for negative, too large, or both-zero values.
  static Status check(long slices, long budget_us);
};

// SimDevice runs each recorded operation through wolfCrypt when a poll with
// WOLF_POLL_FLAG_CHECK_HW visits it. With skip = N > 0 it simulates
// hardware latency: the Nth, 2Nth, ... event a queue poll visits stays
// pending for that round, and so does every Nth single-event poll (the
// original never delayed single-event waits). Non-blocking math yields
// WC_PENDING_E after each slice; a visit runs the slices its SliceBudget
// allows and the next poll continues.
class SimDevice final : public Device {
 public:
  // The skip used when the spec gives none: WOLF_ASYNC_SW_SKIP_MOD when the
  // build defines it (debug builds), otherwise 0.
  static int default_skip();

  // Options: skip=N (0 = never delay), slices=N and budget_us=T (the
  // SliceBudget; defaults kDefaultSlices and kDefaultBudgetUs).
  static Result<std::shared_ptr<Device>> create(DeviceSpec spec);

  // `clock` times the slice budget's budget_us; it must outlive the device
  // (tests pass a ManualClock, so that a poll's share does not depend on
  // the machine's speed).
  explicit SimDevice(int skip,
                     SliceBudget budget = {SliceBudget::kDefaultSlices,
                                           SliceBudget::kDefaultBudgetUs},
                     const Clock& clock = Clock::steady())
      : skip_(skip), slices_(budget.slices), budget_us_(budget.budget_us), clock_(clock) {}

  const char* kind() const override { return "sim"; }
  bool runs_on_poll() const override { return true; }
  bool drive(Op* op, int visit) override;
  bool cancel(Op* op) override;
  const Clock& clock() const override { return clock_; }
  Status set_slice_budget(int slices, int budget_us) override;
  Status get_slice_budget(int* slices, int* budget_us) const override;

  int skip() const { return skip_; }
  SliceBudget slice_budget() const;

 private:
  const int skip_;
  // The budget may change while other threads poll: each is read once per
  // visit (relaxed; the two need not change together).
  std::atomic<int> slices_;
  std::atomic<int> budget_us_;
  // Counts single-event polls, for the delay of single-event waits.
  std::atomic<unsigned> single_polls_{0};
  const Clock& clock_;
};

}  // namespace asynccrypt
