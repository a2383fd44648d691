// The threads device: a software accelerator that runs wolfCrypt operations on worker threads.
#pragma once

#include <memory>

#include "backends/threads/lone_op_rule.h"
#include "backends/threads/worker_pool.h"
#include "core/device.h"
#include "core/device_spec.h"

namespace asynccrypt {

// ThreadsDevice hands each submitted operation to a pool of worker threads,
// so the submitting thread (an event loop) goes on while other cores
// compute. Every threads device of a process with the same worker count
// shares one pool, so per-thread opens do not multiply threads; each device
// keeps its own depth, the most operations it has in flight. At that depth
// submit() answers "full" and the core runs the operation inline, on the
// submitting thread.
//
// When a hand-off pays. Handing an operation over costs the caller CPU and
// latency (a wake-up each way); it pays only when the operation costs more
// than that and the caller has something else to do meanwhile. So, per
// operation, in wc_AsyncSwInit (declines()):
//  1. a kind that costs less than inline_us on the workers (OpCosts) runs in
//     the caller (counted in DevStats.declined), except once per kind every
//     10 ms (OpCosts::kResamplePeriod), when it goes on to 2. as a
//     resample: if it does reach a worker, the worker measures it, so the
//     estimate follows the workload;
//  2. with lone=inline, an operation that finds nothing else of the device
//     in flight while the caller's recent submissions seldom overlapped (a
//     caller that submits one and waits) runs in the caller too (counted in
//     declined and in declined_alone; LoneOpRule);
//  3. everything else goes to the workers, and so does key generation for a
//     TLS key share always (docs/known-issues.md item 16).
// Either way wolfCrypt computes a declined operation at once, without
// WC_PENDING_E, and the caller goes on as with synchronous wolfCrypt.
//
// Thread safety of the data an operation uses. A worker reads and writes
// the object (key or cipher, including its WC_ASYNC_DEV record) and the
// buffers named in its record while no other thread may: the caller must
// not touch the object, its buffers, or start another operation on it
// until the completion is harvested (one operation per object at a time,
// which wolfCrypt's async state machines already obey); freeing it in
// between cancels or drains the operation first (wolfAsync_DevCtxFree).
// Hand-over is ordered both ways: submission goes through the pool's mutex
// (caller's writes happen before the worker's reads), and the completion
// is published by the core with a release store of op->phase and through
// the queue's mutex (the worker's writes happen before the owner's reads).
// Objects that several operations share read-only (an ecc_point or public
// key of a peer used by many ECDH operations, a DH parameter set) are only
// read by wolfCrypt. The one object callers commonly share and wolfCrypt
// writes is the WC_RNG: workers never use the caller's RNG, they use their
// own (see wolfcrypt/worker_rng.h).
class ThreadsDevice final : public Device {
 public:
  static constexpr int kDefaultDepth = 256;
  static constexpr int kMaxWorkers = 1024;
  static constexpr int kMaxDepth = 1 << 20;
  static constexpr int kDefaultBatch = 32;
  static constexpr int kMaxBatch = 1024;
  static constexpr int kDefaultInlineUs = 10;
  static constexpr int kMaxInlineUs = 1'000'000;

  // What the device does with an operation that pays for a hand-off but
  // finds nothing else of the device in flight (see LoneOpRule).
  enum class LoneOps { kOffload, kRunInline };

  // Options: workers=N (default: online CPUs; "threads:N" is short for
  // workers=N), depth=D (default 256) and batch=B (default 32: up to B
  // completions of one queue may gather before its owner is woken through
  // the queue's fd, see QueueState; 1 wakes it at every completion),
  // inline_us=T (default 10: operations whose measured average on the
  // workers is below T microseconds run synchronously in the caller instead,
  // see OpCosts; 0 sends every operation to the workers, whatever lone= says)
  // and lone=inline|offload (default inline: an operation submitted while
  // the caller shows no other work in flight runs in the caller, see
  // LoneOpRule; offload hands it over). Fails with BAD_FUNC_ARG on a bad or
  // unknown option, ASYNC_INIT_E when threads cannot be started.
  static Result<std::shared_ptr<Device>> create(DeviceSpec spec);

  // The number of CPUs online, at least 1.
  static int online_cpus();

  // probe_clock: what LoneOpRule spaces its probes on (null:
  // Clock::coarse(); tests pass a ManualClock).
  ThreadsDevice(std::shared_ptr<WorkerPool> pool, int depth, int batch, int inline_us, LoneOps lone,
                std::shared_ptr<const Clock> probe_clock = nullptr);
  // Waits until every accepted operation has been reported, then lets go of
  // the pool (the last device to let go joins its threads).
  ~ThreadsDevice() override;

  const char* kind() const override { return "threads"; }
  bool runs_on_poll() const override { return false; }
  Admission submit(Op* op, CompletionSink& sink) override;
  bool cancel(Op* op) override;
  int completion_batch() const override { return batch_; }
  bool declines(const WC_ASYNC_DEV* dev, int type) override;
  std::shared_ptr<DeclineShortcut> decline_shortcut() const override { return shortcut_; }

  int workers() const { return pool_->workers(); }
  int depth() const { return lane_.depth; }
  WorkerPool& pool() { return *pool_; }

 private:
  std::shared_ptr<WorkerPool> pool_;
  WorkerPool::Lane lane_;  // fields guarded by the pool's mutex
  const int batch_;
  const std::uint64_t inline_ns_;  // 0: decline nothing
  const LoneOps lone_;
  LoneOpRule lone_rule_;
  // Rule 1 without a resample due, for callers that skip declines().
  const std::shared_ptr<DeclineShortcut> shortcut_;
};

}  // namespace asynccrypt
