// A process-wide pool of worker threads that runs recorded wolfCrypt operations.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "backends/threads/op_costs.h"
#include "core/clock.h"
#include "core/device.h"
#include "core/status.h"

namespace asynccrypt {

// WorkerPool runs operations on its threads in submission order (FIFO over
// all its users). Each user (a ThreadsDevice) owns a Lane: its own limit on
// operations in flight, so devices that share a pool keep separate
// backpressure. The pool is thread-safe.
class WorkerPool {
 public:
  // Lane is one user's share of the pool. A lane must be drained (drain())
  // before it is destroyed.
  struct Lane {
    explicit Lane(int max_in_flight) : depth(max_in_flight) {}
    static constexpr std::uint32_t kDraining = 1u << 31;
    const int depth;  // most operations accepted and not yet finished
    // Operations accepted and not yet run to the end (or withdrawn), plus
    // kDraining while drain() waits for them. Raised under the pool's mutex;
    // a worker lowers it without the mutex when an operation ends (one lock
    // round less per operation), and after that touches the lane no more.
    std::atomic<std::uint32_t> state{0};
    std::uint32_t in_flight() const { return state.load(std::memory_order_acquire) & ~kDraining; }
  };

  // The process-wide pool with `workers` threads, started on first use and
  // shared by every caller that asks for the same count while any of them
  // holds it; destroyed (its threads joined) when the last holder lets go.
  static Result<std::shared_ptr<WorkerPool>> shared(int workers);

  // By default a worker measures one operation in kMeasureEvery of each
  // kind (and the first): reading a thread's CPU clock is a system call,
  // about 1-2 us each on a VM with page-table isolation, two per measured
  // operation, which is most of what a hand-off may cost. An estimate needs
  // far fewer samples than operations.
  static constexpr int kMeasureEvery = 16;

  // Starts a pool of its own. An operation's cost (costs()) is the time
  // between two readings of cost_clock around it on its worker; null means
  // Clock::thread_cpu(), the worker's CPU time. Tests pass a ManualClock
  // with a step, so that operations cost what the test says and not what
  // they took on this machine, and measure_every=1 so that every operation
  // is measured. resample_clock is what OpCosts times its resamples on
  // (null: Clock::coarse()). Fails with ASYNC_INIT_E when a thread cannot
  // be started (those already started are joined), BAD_FUNC_ARG when
  // workers or measure_every is below 1.
  static Result<std::shared_ptr<WorkerPool>> create(
      int workers, std::shared_ptr<const Clock> cost_clock = nullptr,
      int measure_every = kMeasureEvery, std::shared_ptr<const Clock> resample_clock = nullptr);

  // Use shared() or create(); public only for std::make_shared.
  struct Key {
    explicit Key() = default;
  };
  WorkerPool(Key, std::shared_ptr<const Clock> resample_clock)
      : costs_(std::make_shared<OpCosts>(std::move(resample_clock))) {}

  // Runs the queued operations to the end, then joins every thread. Must
  // not run on one of the pool's own threads (a CompletionSink must never
  // release the last reference to a pool).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues op for a worker unless lane already has lane.depth operations in
  // flight (then returns false and nothing happens). A worker sets
  // op->phase to kRunning when it starts op, stores op->result, and then
  // calls sink.on_complete(op, busy) exactly once; by then the lane no
  // longer counts op and the worker touches neither op nor lane again.
  // `busy` says that at least one job per worker was still queued.
  // `measure`: the worker measures this operation's cost whatever
  // measure_every says (a resample of a type judged cheap, OpCosts::judge).
  bool try_submit(Lane& lane, Op* op, CompletionSink& sink, bool measure = false);

  // Removes op if no worker has started it. Returns true when removed: it
  // will never run or be reported.
  bool withdraw(Lane& lane, Op* op);

  // Blocks until lane has nothing in flight. Operations keep running.
  void drain(Lane& lane);

  int workers() const { return static_cast<int>(threads_.size()); }

  // What operations cost on this pool's workers (each run is measured).
  OpCosts& costs() { return *costs_; }
  // The same, for a holder that may outlive the pool (a DeclineShortcut).
  std::shared_ptr<OpCosts> shared_costs() const { return costs_; }

  // Operations queued and not yet started by a worker (for tests).
  std::size_t queued();

  // True in a child process forked after this pool started: its threads
  // did not follow into the child. There the pool accepts nothing
  // (try_submit answers "full", so the core runs each operation on the
  // submitting thread), and shared() starts a new pool for a device opened
  // in the child. See "fork()" below.
  bool forked() const { return forked_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    Op* op;
    CompletionSink* sink;
    Lane* lane;
    bool measure;  // whatever should_measure says
  };

  static void* thread_main(void* self);
  void run();
  // Whether this worker measures its next operation of cost_class
  // (measure_every_); `unmeasured` is the worker's own count per class.
  bool should_measure(int cost_class, std::array<int, OpCosts::kTypes>& unmeasured);

  // fork(). Registered once with pthread_atfork for every live pool. Before
  // the fork, each pool stops handing out jobs and waits until no worker is
  // running or reporting one, then keeps mu_ across the fork: a worker
  // never holds a lock of the pool, a queue or an engine stripe at that
  // moment, so the child finds them all free. The parent then resumes. In
  // the child, where no worker exists, the jobs still queued are reported
  // failed with WC_HW_E (their keys are reset, failed_op.h), so nothing
  // waits for them for ever.
  static void before_fork();
  static void after_fork_in_parent();
  static void after_fork_in_child();

  std::mutex mu_;
  std::condition_variable work_cv_;     // jobs_ became non-empty, or stop_
  std::condition_variable drained_cv_;  // some draining lane reached zero
  // Lowers lane's count after an operation ended or was withdrawn and
  // wakes drain() when that was the last one. `locked`: the caller holds mu_.
  void end_one(Lane& lane, bool locked);

  std::deque<Job> jobs_;                // guarded by mu_
  std::atomic<std::size_t> queued_{0};  // jobs_.size(), for readers without mu_
  bool stop_ = false;                   // guarded by mu_
  bool forking_ = false;                // guarded by mu_: workers take no job
  int running_ = 0;                     // guarded by mu_: workers between a job and its report
  // Guarded by mu_: worker threads created, and those that reached their
  // loop. A thread still starting up allocates (the C library's and a
  // sanitizer's thread set-up, the worker's RNG) and may hold an
  // allocator's lock; before_fork waits for them to be equal.
  int launched_ = 0;
  int ready_ = 0;
  std::condition_variable idle_cv_;          // running_ reached 0, or ready_ grew, while forking_
  std::atomic<bool> forked_{false};          // set in a forked child: no threads here
  WorkerPool* next_live_ = nullptr;          // the list of live pools (before_fork)
  std::vector<pthread_t> threads_;           // written before any worker runs, then constant
  std::shared_ptr<const Clock> cost_clock_;  // likewise
  int measure_every_ = kMeasureEvery;        // likewise
  const std::shared_ptr<OpCosts> costs_;     // lock-free
};

}  // namespace asynccrypt
