// The software simulator device: operations run on the polling thread, as in the original.
#pragma once

#include <atomic>
#include <memory>

#include "core/device.h"
#include "core/device_spec.h"
#include "core/slice_budget.h"

namespace asynccrypt {

// SimDevice runs each recorded operation through wolfCrypt when a poll with
// WOLF_POLL_FLAG_CHECK_HW visits it. With skip = N > 0 it simulates
// hardware latency: the Nth, 2Nth, ... event a queue poll visits stays
// pending for that round, and so does every Nth single-event poll (the
// original never delayed single-event waits). Non-blocking math yields
// WC_PENDING_E after each slice; a visit runs the slices its SliceBudget
// allows and the next poll continues.
class SimDevice final : public Device, public SliceBudgetControl {
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
  Admission submit(Op* /*op*/, CompletionSink& /*sink*/) override { return Admission::kPolled; }
  bool poll(Op* op, const PollContext& context) override;
  bool cancel(Op* op) override;
  const Clock& clock() const override { return clock_; }
  SliceBudgetControl* slice_budget_control() override { return this; }
  Status set_slice_budget(SliceBudget budget) override;
  SliceBudget slice_budget() const override;

  int skip() const { return skip_; }

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
