// The software simulator device.
#include "backends/sim/sim_device.h"

#include <chrono>
#include <string>

#include "wolfcrypt/execute.h"

namespace asynccrypt {

int SimDevice::default_skip() {
#ifdef WOLF_ASYNC_SW_SKIP_MOD
  return WOLF_ASYNC_SW_SKIP_MOD;
#else
  return 0;
#endif
}

Result<std::shared_ptr<Device>> SimDevice::create(DeviceSpec spec) {
  auto skip = spec.take_int("skip", default_skip(), 0, 1 << 20);
  if (!skip.is_ok()) return skip.status();
  // skip=1 would leave every operation pending on every poll: a hang.
  if (skip.value() == 1) {
    return Status(BAD_FUNC_ARG,
                  "device option sim:skip=1 would delay every operation forever; "
                  "use 0 (no delay) or a value of 2 or more");
  }
  // Range errors are reported by SliceBudget::check, with its explanation;
  // take_int only rejects what is not a number.
  const bool has_slices = spec.options.count("slices") != 0;
  const bool has_budget = spec.options.count("budget_us") != 0;
  auto slices = spec.take_int("slices", SliceBudget::kDefaultSlices, -(1L << 40), 1L << 40);
  if (!slices.is_ok()) return slices.status();
  // A spec that names only slices=N means "N slices per poll", without the
  // default time limit (and the other way round).
  long budget_fallback = SliceBudget::kDefaultBudgetUs;
  if (has_slices && !has_budget) budget_fallback = 0;
  auto budget = spec.take_int("budget_us", budget_fallback, -(1L << 40), 1L << 40);
  if (!budget.is_ok()) return budget.status();
  long slices_value = slices.value();
  if (has_budget && !has_slices) slices_value = 0;
  if (Status s = SliceBudget::check(slices_value, budget.value()); !s.is_ok()) {
    return Status(BAD_FUNC_ARG, "device option sim:" + s.message());
  }
  if (Status s = spec.check_all_taken(); !s.is_ok()) return s;
  return std::shared_ptr<Device>(std::make_shared<SimDevice>(
      static_cast<int>(skip.value()),
      SliceBudget{static_cast<int>(slices_value), static_cast<int>(budget.value())}));
}

Status SimDevice::set_slice_budget(SliceBudget budget) {
  if (Status s = SliceBudget::check(budget.slices, budget.budget_us); !s.is_ok()) return s;
  slices_.store(budget.slices, std::memory_order_relaxed);
  budget_us_.store(budget.budget_us, std::memory_order_relaxed);
  return Status();
}

SliceBudget SimDevice::slice_budget() const {
  return SliceBudget{slices_.load(std::memory_order_relaxed),
                     budget_us_.load(std::memory_order_relaxed)};
}

namespace {

// The simulator's Op::slot: number is 0 before the operation's first
// slice, then 1; state is the non-blocking context lent to its ECC key, if
// any (see wolfcrypt::lend_nonblock_ctx), given back when the operation ends.

// What the current poll on this thread has left of a simulator's slice
// budget (see SimDevice::poll).
struct PollAllowance {
  const SimDevice* device = nullptr;
  std::uint64_t poll = 0;        // PollContext::sequence of the poll
  Clock::time_point deadline{};  // on the device's clock()
  int slices = 0;
};
thread_local PollAllowance t_allowance;

void lend_if_needed(Op* op) {
  if (op->slot.number != 0) return;
  op->slot.number = 1;
  op->slot.state = wolfcrypt::lend_nonblock_ctx(op->dev);
}

void give_back(Op* op) {
  if (auto* loan = op->slot.state_as<wolfcrypt::NonblockLoan>()) {
    wolfcrypt::return_nonblock_ctx(loan);
  }
  op->slot.state = nullptr;
}

}  // namespace

bool SimDevice::cancel(Op* op) {
  give_back(op);  // the key still exists: wolfCrypt cancels before it frees
  return true;
}

bool SimDevice::poll(Op* op, const PollContext& context) {
  if (skip_ > 0) {
    const unsigned n = !context.single_event()
                           ? static_cast<unsigned>(context.visit)
                           : single_polls_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n % static_cast<unsigned>(skip_) == 0) return false;
  }
  const SliceBudget budget = slice_budget();
  // The budget is per poll, shared by the operations the poll visits in
  // order: the first always runs at least one slice (so the oldest
  // operation always progresses), later ones run only while some is left.
  // A slice of P-256 math lasts about as long as reading the clock, so the
  // clock is read once per kClockEvery slices: a poll overshoots its time
  // budget by at most that many slices (plus one slice that wolfSSL does not
  // divide further, tens of microseconds at most).
  constexpr int kClockEvery = 8;
  const bool timed = budget.budget_us > 0;
  const std::uint64_t poll = context.sequence;
  PollAllowance& left = t_allowance;
  if (!wolfcrypt::runs_in_slices(op->dev)) {
    // Not sliced (RSA, AES, ...): runs whole, outside the budget.
  } else if (left.device != this || left.poll != poll) {
    left = PollAllowance{
        this, poll,
        timed ? clock_.now() + std::chrono::microseconds(budget.budget_us) : Clock::time_point{},
        budget.slices};
  } else if ((budget.slices > 0 && left.slices <= 0) || (timed && clock_.now() >= left.deadline)) {
    return false;  // spent on the operations before this one
  }
  lend_if_needed(op);
  int ret;
  int done = 0;
  for (;;) {
    ret = wolfcrypt::execute(op->dev);
    if (ret != WC_PENDING_E) break;
    ++done;
    if (budget.slices > 0 && --left.slices <= 0) return false;
    if (timed && done % kClockEvery == 0 && clock_.now() >= left.deadline) return false;
  }
  op->result = ret;
  give_back(op);
  return true;
}

}  // namespace asynccrypt
