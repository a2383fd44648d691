// The slice budget: a capability of devices that run non-blocking math a slice at a time.
#pragma once

#include "core/status.h"

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

// SliceBudgetControl is what a device that slices its operations offers
// through Device::slice_budget_control(): the application's way to change
// how much one poll may do (asynccrypt_DevSetSliceBudget). Thread-safe:
// polls on other threads read the budget while it changes.
class SliceBudgetControl {
 public:
  // Sets the budget; BAD_FUNC_ARG (SliceBudget::check) leaves it unchanged.
  virtual Status set_slice_budget(SliceBudget budget) = 0;
  virtual SliceBudget slice_budget() const = 0;

 protected:
  ~SliceBudgetControl() = default;
};

}  // namespace asynccrypt
