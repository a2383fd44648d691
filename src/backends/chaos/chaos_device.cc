// The chaos device.
#include "backends/chaos/chaos_device.h"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "core/device_kinds.h"
#include "core/log.h"
#include "core/wolfssl_api.h"
#include "wolfcrypt/execute.h"

namespace asynccrypt {
namespace {

// Op::slot.number of a poll-driven operation: 0 until its first poll, then
// kSeen, the injected-failure bit, and the polls it still stays pending.
constexpr std::uint64_t kSeen = std::uint64_t{1} << 62;
constexpr std::uint64_t kFail = std::uint64_t{1} << 61;
constexpr std::uint64_t kPollsMask = 0xffffffffu;

std::uint64_t seed_from_clock() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  // Small enough to type back in; distinct for runs started together.
  const std::uint64_t mixed = static_cast<std::uint64_t>(now.tv_nsec) ^
                              (static_cast<std::uint64_t>(now.tv_sec) << 20) ^
                              (static_cast<std::uint64_t>(getpid()) << 40);
  return mixed & 0x7fffffffffffULL;
}

// Whether chaos may layer over `kind`: anything the table of kinds knows,
// but chaos itself (two layers of chaos add nothing one cannot do).
Status check_layerable(const std::string& kind) {
  if (kind == "chaos") {
    return Status(BAD_FUNC_ARG,
                  "device option chaos:over=chaos: one layer of chaos does what two would "
                  "(raise maxpolls= or failpm= instead)");
  }
  return Status::ok();
}

}  // namespace

std::uint64_t ChaosRandom::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Result<std::shared_ptr<Device>> ChaosDevice::create(DeviceSpec spec) {
  Options options;
  const bool seeded = spec.options.count("seed") != 0;
  auto seed = spec.take_int("seed", 0, 0, 0x7fffffffffffffffL);
  if (!seed.is_ok()) return seed.status();
  options.seed = seeded ? static_cast<std::uint64_t>(seed.value()) : seed_from_clock();
  auto polls = spec.take_int("maxpolls", kDefaultMaxPolls, 1, kMaxMaxPolls);
  if (!polls.is_ok()) return polls.status();
  options.max_polls = static_cast<int>(polls.value());

  const bool percent = spec.options.count("fail") != 0;
  const bool per_mille = spec.options.count("failpm") != 0;
  if (percent && per_mille) {
    return Status(BAD_FUNC_ARG, "device options chaos:fail= and chaos:failpm= exclude each other");
  }
  auto fail = spec.take_int("fail", 0, 0, 100);
  if (!fail.is_ok()) return fail.status();
  auto fail_pm = spec.take_int("failpm", 0, 0, 1000);
  if (!fail_pm.is_ok()) return fail_pm.status();
  options.fail_per_mille = static_cast<int>(percent ? fail.value() * 10 : fail_pm.value());

  // over=KIND names the device underneath; it opens through the table of
  // kinds, as any device does, and every option that is not chaos's own is
  // its (it rejects what it does not know). Chaos knows no other kind.
  auto over = spec.take_string("over");
  if (!over.is_ok()) return over.status();
  const bool has_delay = spec.options.count("delay") != 0;
  auto delay = spec.take_int("delay", kDefaultDelayUs, 0, kMaxDelayUs);
  if (!delay.is_ok()) return delay.status();
  options.delay_us = static_cast<int>(delay.value());
  std::shared_ptr<Device> inner;
  if (over.value().empty()) {
    if (has_delay) {
      return Status(BAD_FUNC_ARG,
                    "device option chaos:delay= needs a worker device underneath "
                    "(over=threads); alone, chaos delays by polls: maxpolls=");
    }
    if (!spec.options.empty()) {
      return Status(BAD_FUNC_ARG, "device option chaos:" + spec.options.begin()->first +
                                      "= is not chaos's own: name the device it is for with "
                                      "over=KIND (e.g. over=threads,workers=2)");
    }
  } else {
    if (Status s = check_layerable(over.value()); !s.is_ok()) return s;
    auto device = DeviceKinds::instance().create(DeviceSpec{over.value(), std::move(spec.options)});
    spec.options.clear();
    if (!device.is_ok()) return device.status();
    inner = device.take();
    if (inner->id_base() != 0) {
      return Status(BAD_FUNC_ARG, "device option chaos:over=" + over.value() +
                                      ": chaos cannot layer over a device that answers "
                                      "wolfSSL's crypto callbacks");
    }
    if (has_delay && inner->runs_on_poll()) {
      return Status(BAD_FUNC_ARG,
                    "device option chaos:delay= needs a worker device underneath; "
                    "over the poll-driven '" +
                        over.value() + "' chaos delays by polls: maxpolls=");
    }
  }

  // The seed is printed so that a failing run can be replayed.
  std::string layer;
  if (inner) {
    layer = " over=" + over.value();
    if (!inner->runs_on_poll()) layer += " delay=" + std::to_string(options.delay_us);
  }
  log(LogLevel::kInfo, "chaos seed=%llu maxpolls=%d failpm=%d%s",
      static_cast<unsigned long long>(options.seed), options.max_polls, options.fail_per_mille,
      layer.c_str());
  return std::shared_ptr<Device>(std::make_shared<ChaosDevice>(options, std::move(inner)));
}

// Reports an operation layered over a worker device to the core after a
// delay, on the worker that ran it. One per accepted operation, found by its
// op in delayed_ops_ (op->slot is the inner device's, as over a poll-driven
// one): it deletes itself when it has reported, or ChaosDevice::cancel
// deletes it when the operation is withdrawn.
class ChaosDevice::DelayedSink final : public CompletionSink {
 public:
  DelayedSink(ChaosDevice& device, CompletionSink& inner, int delay_us)
      : device_(device), inner_(inner), delay_us_(delay_us) {}

  // The pool's backlog is stale after the delay, so the report is never
  // `busy`: the owner is woken at once (chaos tests late completions, not
  // batching).
  void on_complete(Op* op, bool /*busy*/) override {
    std::unique_ptr<DelayedSink> self(this);
    CompletionSink& inner = inner_;
    if (delay_us_ > 0) {
      timespec left{delay_us_ / 1000000, static_cast<long>(delay_us_ % 1000000) * 1000L};
      while (nanosleep(&left, &left) != 0 && errno == EINTR) {
      }
    }
    {
      std::lock_guard lock(device_.mu_);
      device_.delayed_ops_.erase(op);
    }
    self.reset();  // before the report: afterwards op (and its device) may be gone
    inner.on_complete(op, /*busy=*/false);
  }

 private:
  ChaosDevice& device_;  // alive while op is: op->device holds it
  CompletionSink& inner_;
  const int delay_us_;
};

ChaosDevice::ChaosDevice(const Options& options, std::shared_ptr<Device> inner)
    : options_(options), inner_(std::move(inner)), random_(options.seed) {}

ChaosDevice::Draw ChaosDevice::draw(int range) {
  std::lock_guard lock(mu_);
  return draw_locked(range);
}

ChaosDevice::Draw ChaosDevice::draw_locked(int range) {
  Draw d{};
  d.polls = static_cast<int>(random_.below(static_cast<std::uint64_t>(range)));
  // Drawn even when failures are off, so that fail= does not shift the
  // sequence of delays.
  d.fail = static_cast<int>(random_.below(1000)) < options_.fail_per_mille;
  return d;
}

void ChaosDevice::fail_now(Op* op) {
  // Never run: clear the record as a finished operation would, so the
  // object takes its next operation.
  op->dev->sw.type = ASYNC_SW_NONE;
  op->result = WC_HW_E;
  injected_.fetch_add(1, std::memory_order_relaxed);
}

bool ChaosDevice::poll(Op* op, const PollContext& context) {
  if (inner_) return poll_layered(op, context);
  std::uint64_t& state = op->slot.number;
  if (state == 0) {
    // First visit: it always stays pending, for 1..max_polls polls.
    const Draw d = draw(options_.max_polls);
    state = kSeen | (d.fail ? kFail : 0) | static_cast<std::uint64_t>(d.polls + 1);
    return false;
  }
  if ((state & kPollsMask) != 0) {
    --state;
    if ((state & kPollsMask) != 0) return false;
  }
  if ((state & kFail) != 0) {
    fail_now(op);
    return true;
  }
  const int ret = wolfcrypt::execute(op->dev);
  if (ret == WC_PENDING_E) return false;  // non-blocking math: another slice
  op->result = ret;
  return true;
}

Admission ChaosDevice::admit_layered(Op* op, CompletionSink& sink) {
  std::lock_guard lock(mu_);
  // A new entry needs a node: this file is compiled with -fexceptions so
  // that running out of memory answers "full" (the core runs the operation
  // itself) instead of aborting; the map is left as it was.
  try {
    LayeredOp& state = layered_ops_.try_emplace(op).first->second;
    // The first poll never hands it on; then it pends 1..max_polls polls.
    const Draw d = draw_locked(options_.max_polls);
    state.before = d.polls + 2;
    state.fail = d.fail;
    state.after = static_cast<int>(random_.below(static_cast<std::uint64_t>(options_.max_polls)));
    state.sink = &sink;
  } catch (const std::bad_alloc&) {
    return Admission::kFull;
  }
  return Admission::kPolled;
}

bool ChaosDevice::poll_layered(Op* op, const PollContext& context) {
  // The inner device sees its own polls: the operations chaos hands it in
  // one poll are its visits 1, 2, ... (dpdk flushes the previous poll's
  // staged operations at visit 1), whichever operations chaos held back.
  thread_local std::uint64_t last_sequence = 0;
  thread_local int inner_visits = 0;
  if (!context.single_event() && context.sequence != last_sequence) {
    last_sequence = context.sequence;
    inner_visits = 0;
  }
  const auto poll_inner = [&] {
    return inner_->poll(op,
                        PollContext{context.sequence, context.single_event() ? 0 : ++inner_visits});
  };

  LayeredOp* state = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = layered_ops_.find(op);
    if (it == layered_ops_.end()) return false;  // not admitted here: cannot happen
    state = &it->second;                         // stays valid until erased (node-based map)
  }
  const auto finish = [&] {
    std::lock_guard lock(mu_);
    layered_ops_.erase(op);
    return true;
  };
  switch (state->stage) {
    case LayeredOp::Stage::kBefore:
      if (--state->before > 0) return false;
      if (state->fail) {
        fail_now(op);
        return finish();
      }
      switch (inner_->submit(op, *state->sink)) {
        case Admission::kPolled:
          break;
        case Admission::kFull:  // it takes no more now: run it here, as the core would
          op->result = wolfcrypt::execute_to_completion(op->dev);
          return finish();
        case Admission::kAccepted:
          // A device whose runs_on_poll() is true never answers this: a
          // report would reach an operation chaos has on its polled list.
          std::abort();
      }
      state->stage = LayeredOp::Stage::kInner;
      [[fallthrough]];
    case LayeredOp::Stage::kInner:
      if (!poll_inner()) return false;
      if (state->after == 0) return finish();
      state->stage = LayeredOp::Stage::kAfter;  // op->result is set: hold it back
      return false;
    case LayeredOp::Stage::kAfter:
      if (--state->after > 0) return false;
      return finish();
  }
  return false;
}

Admission ChaosDevice::submit(Op* op, CompletionSink& sink) {
  if (!inner_) return Admission::kPolled;
  if (inner_->runs_on_poll()) return admit_layered(op, sink);
  const Draw d = draw(options_.delay_us + 1);
  if (d.fail) {
    fail_now(op);
    sink.on_complete(op, /*busy=*/false);
    return Admission::kAccepted;
  }
  // Out of memory: answer "full", so the core runs it inline (no memory of ours).
  std::unique_ptr<DelayedSink> delayed(new (std::nothrow) DelayedSink(*this, sink, d.polls));
  if (!delayed) return Admission::kFull;
  // Stored first: once accepted, op may be reported and freed at any time.
  try {
    std::lock_guard lock(mu_);
    delayed_ops_.emplace(op, delayed.get());
  } catch (const std::bad_alloc&) {
    return Admission::kFull;
  }
  if (inner_->submit(op, *delayed) != Admission::kAccepted) {
    std::lock_guard lock(mu_);
    delayed_ops_.erase(op);
    return Admission::kFull;  // the core runs it inline
  }
  (void)delayed.release();  // it deletes itself when it reports
  return Admission::kAccepted;
}

bool ChaosDevice::cancel(Op* op) {
  if (inner_ && inner_->runs_on_poll()) {
    bool at_inner = false;
    {
      std::lock_guard lock(mu_);
      if (auto it = layered_ops_.find(op); it != layered_ops_.end()) {
        at_inner = it->second.stage == LayeredOp::Stage::kInner;
        layered_ops_.erase(it);
      }
    }
    // Before the inner device saw it, or once it had finished, there is
    // nothing of it there to withdraw.
    if (at_inner) (void)inner_->cancel(op);
    return true;
  }
  if (!inner_ || !inner_->cancel(op)) return false;
  // Withdrawn before a worker took it: its sink will never report.
  std::lock_guard lock(mu_);
  if (auto it = delayed_ops_.find(op); it != delayed_ops_.end()) {
    delete it->second;  // NOLINT(cppcoreguidelines-owning-memory): owned through the map
    delayed_ops_.erase(it);
  }
  return true;
}

}  // namespace asynccrypt
