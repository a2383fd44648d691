// The interface every device kind implements; the core knows no particular kind.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/decline_shortcut.h"
#include "core/op.h"
#include "core/slice_budget.h"
#include "core/status.h"

namespace asynccrypt {

// Told by a worker device when an operation has finished, on the worker's
// thread. The core moves the operation to its queue and wakes the owner.
class CompletionSink {
 public:
  // `busy` is a hint: true when the reporting worker's pool still has at
  // least one queued (not started) operation per worker, so further reports
  // follow within about one operation's time and the core may hold back the
  // owner's wake-up to gather a batch (see Device::completion_batch). Pass
  // false when nothing more is coming soon: the last queued operation, an
  // operation run inline by its submitter, one failed at submission.
  virtual void on_complete(Op* op, bool busy) = 0;

 protected:
  ~CompletionSink() = default;
};

// Counters every device keeps; relaxed atomics, read for statistics only.
struct DeviceCounters {
  std::atomic<std::uint64_t> submitted{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> inline_runs{0};
  std::atomic<std::uint64_t> declined{0};
  std::atomic<std::uint64_t> declined_alone{0};  // of declined: nothing else in flight
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::int64_t> in_flight{0};
  // Submitted and not yet harvested or cancelled (an Op exists for it): the
  // owner has not taken the result back yet. Unlike in_flight it still
  // counts an operation a worker finished before its owner came back, which
  // is the owner doing other work meanwhile (LoneOpRule).
  std::atomic<std::int64_t> unharvested{0};
};

// PollContext is where a poll stands when it shows an operation to a
// poll-driven device (Device::poll). The engine makes one per visit; devices
// answer "is this a new poll" and "which operation of it" from it alone.
struct PollContext {
  // Numbers the polls on the calling thread: the same for every operation
  // one poll visits, new for each queue poll and each single-event poll, so
  // a device can share one budget among a poll's operations (sim's
  // SliceBudget) or flush a batch once per poll (dpdk).
  std::uint64_t sequence = 0;
  // Counts the operations this poll has shown so far, 1-based; 0 for a
  // single-event poll or wait, which shows one operation on its own.
  int visit = 0;

  bool single_event() const { return visit == 0; }
};

// How a device takes an operation (Device::submit).
enum class Admission {
  kAccepted,  // a worker has it: the device reports it once to the sink
  kPolled,    // it completes in its owner's polls: poll() works on it
  kFull,      // refused (backpressure): the submitter runs it itself
};

// Device is one opened backend. It is shared by every thread that submits to
// it and must be thread-safe. Its contract is four verbs: submit an
// operation, poll one (for operations that complete in their owner's polls),
// cancel one, and say what it can do (capabilities, declines, and optional
// capabilities such as the slice budget); the rest have defaults. Two
// styles of device fill it in:
//  - poll-driven (sim, dpdk, chaos alone): submit answers kPolled and the
//    work happens in poll(), called from the owner's polls with
//    WOLF_POLL_FLAG_CHECK_HW;
//  - worker (threads, pkcs11): submit hands the work over (kAccepted) and
//    the device reports completion through the CompletionSink.
// The engine follows each operation's admission, never the device's style.
class Device {
 public:
  virtual ~Device() = default;

  // The kind's name, as in a device spec ("sim", "threads").
  virtual const char* kind() const = 0;

  // Takes op, recorded in op->dev. kAccepted: op is reported to `sink`
  // exactly once, maybe before submit returns, on any thread. kPolled: the
  // owner's polls call poll(op) until it finishes. kFull: nothing happened;
  // the caller runs op itself, so nothing waits or grows without bound.
  virtual Admission submit(Op* op, CompletionSink& sink) = 0;

  // Works on an op submitted as kPolled for one poll, on the owner's thread.
  // Returns true when op is finished, with op->result set. Never called for
  // other ops.
  virtual bool poll(Op* op, const PollContext& context) {
    (void)op;
    (void)context;
    return false;
  }

  // The style a device layered over this one must take (chaos): true when
  // submit answers kPolled, false when it hands work to workers.
  virtual bool runs_on_poll() const = 0;

  // Accepted op: tries to withdraw it before a worker has started it.
  // Returns true when withdrawn (it will never be reported).
  // Polled op: told that it is being withdrawn unfinished (its object is
  // being freed); the device must forget it and never touch its buffers
  // again. The return value is ignored.
  virtual bool cancel(Op* op) {
    (void)op;
    return false;
  }

  // The object that owns `dev` (wolfSSL's marker says which kind) is being
  // freed, with no operation left in flight; its key is still readable.
  // A device that keeps something derived from the object (a driver
  // session holding the key) drops it now, so that no secret outlives its
  // object. Called from wolfAsync_DevCtxFree; must be thread-safe.
  virtual void forget(const WC_ASYNC_DEV* dev, word32 marker) {
    (void)dev;
    (void)marker;
  }

  // Whether an operation of `type` (a WC_ASYNC_SW_TYPE) on dev's object,
  // about to be recorded, should rather run synchronously on the caller's
  // thread: wc_AsyncSwInit then answers 0 and wolfCrypt computes the result
  // at once, without WC_PENDING_E. Worker devices decline operations that
  // cost less than handing them over. Must be cheap and thread-safe.
  virtual bool declines(const WC_ASYNC_DEV* dev, int type) {
    (void)dev;
    (void)type;
    return false;
  }

  // The device's DeclineShortcut, or nullptr when it has none (every
  // operation then asks declines()). The same one for the device's life.
  virtual std::shared_ptr<DeclineShortcut> decline_shortcut() const { return nullptr; }

  // Worker: how many completions of one queue may gather before the owner
  // is woken (1: wake at every completion). The core wakes earlier when
  // nothing else of that queue is at a worker, when a report is not `busy`,
  // or when the first held completion has waited QueueState::kMaxHold (see
  // QueueState::hold_locked).
  virtual int completion_batch() const { return 1; }

  // The clock that the core measures this device's completions on (how long
  // a held completion has waited, see completion_batch): Clock::steady()
  // unless the device was given another (tests give a ManualClock). Must
  // outlive every operation the device reports.
  virtual const Clock& clock() const { return Clock::steady(); }

  // Every WC_ASYNC_SW_TYPE a device may be given, one bit (1u << type) each.
  static constexpr std::uint32_t kAllOps = 0x7FFEu;  // types 1..14

  // The operation types this device runs on its own engine (hardware,
  // workers, the simulator), one bit (1u << type) each; the others it runs
  // through wolfCrypt in software on the polling thread.
  virtual std::uint32_t capabilities() const { return kAllOps; }

  // The slice budget of a device whose operations run in slices (sim), or
  // nullptr for a kind without one: a capability reached through this
  // query, so the base interface carries no kind's feature. The control
  // lives as long as the device.
  virtual SliceBudgetControl* slice_budget_control() { return nullptr; }

  // Where this device's id lies. 0: the registry's small ids (0, 1, 2...).
  // A device that answers wolfSSL's crypto callbacks for its id (pkcs11)
  // returns kCallbackIdBase: applications register their own callbacks at
  // small ids (wolfSSL's PKCS#11 example uses 1), so such a device takes
  // kCallbackIdBase + its slot and never collides with them.
  static constexpr int kCallbackIdBase = 0x41430000;
  virtual int id_base() const { return 0; }

  // Told the id the registry gave the device, before anyone else can use
  // it (a callback device registers its crypto callback here). A failure
  // closes the device again and is the open's failure.
  virtual Status attach(int dev_id) {
    (void)dev_id;
    return Status::ok();
  }
  // Told that its id is being closed, before the id can be handed out
  // again (operations in flight may still hold the device).
  virtual void detach(int dev_id) { (void)dev_id; }

  DeviceCounters& counters() { return counters_; }

 private:
  DeviceCounters counters_;
};

}  // namespace asynccrypt
