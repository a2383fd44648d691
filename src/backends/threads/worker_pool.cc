// The worker pool behind the threads device.
#include "backends/threads/worker_pool.h"

#include <sched.h>
#include <signal.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <new>

#include "core/immortal.h"
#include "core/wolfssl_api.h"
#include "wolfcrypt/execute.h"
#include "wolfcrypt/worker_rng.h"

namespace asynccrypt {
namespace {

// The CPUs the process was started on, read before main() runs and so
// before any cpu= option pinned a thread. Workers use these, instead of
// inheriting the single CPU of a pinned thread that happens to start a pool.
struct LaunchAffinity {
  cpu_set_t set;
  bool known;
};
const LaunchAffinity g_launch_affinity = [] {
  LaunchAffinity a{};
  a.known = sched_getaffinity(0, sizeof a.set, &a.set) == 0;
  return a;
}();

// The pools alive in this process, for the fork handlers; guarded by
// live_pools_mu(). A mutex in static storage: pools are made and destroyed
// during process exit too.
struct LivePoolsTag;
std::mutex& live_pools_mu() { return immortal<std::mutex, LivePoolsTag>(); }
WorkerPool* g_live_pools = nullptr;

}  // namespace

void WorkerPool::before_fork() {
  live_pools_mu().lock();  // held across fork(): no pool comes or goes
  for (WorkerPool* p = g_live_pools; p != nullptr; p = p->next_live_) {
    std::unique_lock lock(p->mu_);
    p->forking_ = true;
    // A worker between a job and its report may hold a queue's or an
    // engine stripe's lock: let it finish. No worker starts another. A
    // worker still starting up may hold an allocator's lock (a sanitizer's
    // allocator is not made safe across fork as the C library's is: the
    // child's first allocation then waits for ever): let it reach its loop.
    p->idle_cv_.wait(lock, [p] { return p->running_ == 0 && p->ready_ == p->launched_; });
    (void)lock.release();  // mu_ stays held across fork()
  }
}

void WorkerPool::after_fork_in_parent() {
  for (WorkerPool* p = g_live_pools; p != nullptr; p = p->next_live_) {
    p->forking_ = false;
    p->mu_.unlock();
    p->work_cv_.notify_all();
  }
  live_pools_mu().unlock();
}

void WorkerPool::after_fork_in_child() {
  // Only the thread that called fork() exists here, and it holds every
  // lock taken in before_fork (so it may release them).
  for (WorkerPool* p = g_live_pools; p != nullptr; p = p->next_live_) {
    p->forking_ = false;
    p->forked_.store(true, std::memory_order_relaxed);
    p->threads_.clear();  // not ours to join
    p->launched_ = p->ready_ = 0;
    // Queued before the fork, never to run here: each fails with a code,
    // reported without mu_ (the report takes its queue's lock).
    while (!p->jobs_.empty()) {
      const Job job = p->jobs_.front();
      p->jobs_.pop_front();
      p->queued_.store(p->jobs_.size(), std::memory_order_relaxed);
      p->end_one(*job.lane, /*locked=*/true);
      p->mu_.unlock();
      job.op->result = WC_HW_E;
      job.sink->on_complete(job.op, /*busy=*/false);
      p->mu_.lock();
    }
    p->mu_.unlock();
  }
  live_pools_mu().unlock();
}

Result<std::shared_ptr<WorkerPool>> WorkerPool::shared(int workers) {
  // Never destroyed, so devices closed during process exit still find it;
  // it only holds weak references, the devices own the pools.
  static auto* mu = new std::mutex();
  static auto* pools = new std::map<int, std::weak_ptr<WorkerPool>>();
  std::lock_guard lock(*mu);
  std::weak_ptr<WorkerPool>& slot = (*pools)[workers];
  // A pool inherited from the parent process has no threads here.
  if (std::shared_ptr<WorkerPool> pool = slot.lock(); pool && !pool->forked()) return pool;
  auto pool = create(workers);
  if (pool.is_ok()) slot = pool.value();
  return pool;
}

Result<std::shared_ptr<WorkerPool>> WorkerPool::create(
    int workers, std::shared_ptr<const Clock> cost_clock, int measure_every,
    std::shared_ptr<const Clock> resample_clock) {
  if (workers < 1) return Status(BAD_FUNC_ARG, "a worker pool needs at least one thread");
  if (measure_every < 1) return Status(BAD_FUNC_ARG, "measure_every must be at least 1");
  static const int fork_handlers =
      pthread_atfork(&WorkerPool::before_fork, &WorkerPool::after_fork_in_parent,
                     &WorkerPool::after_fork_in_child);
  if (fork_handlers != 0) {
    return Status(ASYNC_INIT_E, std::string("pthread_atfork: ") + std::strerror(fork_handlers));
  }
  auto pool = std::make_shared<WorkerPool>(Key{}, std::move(resample_clock));
  {
    std::lock_guard lock(live_pools_mu());
    pool->next_live_ = g_live_pools;
    g_live_pools = pool.get();
  }
  // CPU time rather than wall time: it leaves out the time a worker was
  // preempted, which on a busy machine dwarfs small operations.
  pool->cost_clock_ = clock_or(std::move(cost_clock), Clock::thread_cpu());
  pool->measure_every_ = measure_every;
  // Workers inherit a blocked signal mask, so the application's signals go
  // to the application's threads.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  if (int err = pthread_sigmask(SIG_SETMASK, &all, &old); err != 0) {
    return Status(ASYNC_INIT_E, std::string("pthread_sigmask: ") + std::strerror(err));
  }
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err != 0) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return Status(ASYNC_INIT_E, std::string("pthread_attr_init: ") + std::strerror(err));
  }
  bool use_attr = false;
  if (g_launch_affinity.known) {
    use_attr = pthread_attr_setaffinity_np(&attr, sizeof g_launch_affinity.set,
                                           &g_launch_affinity.set) == 0;
  }
  pool->threads_.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    pthread_t thread;
    {
      std::lock_guard lock(pool->mu_);
      ++pool->launched_;
    }
    err = pthread_create(&thread, use_attr ? &attr : nullptr, &WorkerPool::thread_main, pool.get());
    if (err == EINVAL && use_attr) {
      // A launch CPU went offline: inherit this thread's CPUs instead.
      use_attr = false;
      err = pthread_create(&thread, nullptr, &WorkerPool::thread_main, pool.get());
    }
    if (err != 0) {
      std::lock_guard lock(pool->mu_);
      --pool->launched_;
      break;
    }
    char name[16];  // the kernel's limit, with the terminator
    (void)std::snprintf(name, sizeof name, "asyncc-w%d", i % 10000);
    pthread_setname_np(thread, name);  // cosmetic: failure is harmless
    pool->threads_.push_back(thread);
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    // The destructor joins the threads that did start.
    return Status(ASYNC_INIT_E, "cannot start worker thread " +
                                    std::to_string(pool->threads_.size() + 1) + " of " +
                                    std::to_string(workers) + ": " + std::strerror(err));
  }
  return pool;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(live_pools_mu());
    for (WorkerPool** p = &g_live_pools; *p != nullptr; p = &(*p)->next_live_) {
      if (*p == this) {
        *p = next_live_;
        break;
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (pthread_t thread : threads_) pthread_join(thread, nullptr);
}

void* WorkerPool::thread_main(void* self) {
  static_cast<WorkerPool*>(self)->run();
  return nullptr;
}

bool WorkerPool::try_submit(Lane& lane, Op* op, CompletionSink& sink, bool measure) {
  {
    std::lock_guard lock(mu_);
    if (lane.in_flight() >= static_cast<std::uint32_t>(lane.depth)) return false;
    if (forked_.load(std::memory_order_relaxed)) return false;  // no workers in this process
    // The queue may need a new block. This file is compiled with
    // -fexceptions so that a failed allocation is caught here instead of
    // aborting the process: the pool then answers "full", and the core
    // runs the operation on the submitting thread, which needs no memory of
    // ours. The queue is unchanged (push_back's strong guarantee).
    try {
      jobs_.push_back(Job{op, &sink, &lane, measure});
    } catch (const std::bad_alloc&) {
      return false;
    }
    lane.state.fetch_add(1, std::memory_order_relaxed);
    queued_.store(jobs_.size(), std::memory_order_relaxed);
  }
  work_cv_.notify_one();
  return true;
}

void WorkerPool::end_one(Lane& lane, bool locked) {
  // Only the pool is touched after the decrement: once the count is zero
  // the lane's owner may return from drain() and destroy it.
  const std::uint32_t before = lane.state.fetch_sub(1, std::memory_order_acq_rel);
  if (before != (Lane::kDraining | 1u)) return;
  if (locked) {
    drained_cv_.notify_all();
    return;
  }
  // drain() checks the count under mu_ before it sleeps: taking mu_ here
  // means the notification cannot fall between its check and its sleep.
  std::lock_guard lock(mu_);
  drained_cv_.notify_all();
}

bool WorkerPool::withdraw(Lane& lane, Op* op) {
  std::lock_guard lock(mu_);
  // Linear, but cancellation only happens when an object is freed with an
  // operation in flight, and the queue is bounded by the lanes' depths.
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (it->op != op) continue;
    jobs_.erase(it);
    queued_.store(jobs_.size(), std::memory_order_relaxed);
    end_one(lane, /*locked=*/true);
    return true;
  }
  return false;  // a worker has it (or it already finished)
}

void WorkerPool::drain(Lane& lane) {
  std::unique_lock lock(mu_);
  lane.state.fetch_or(Lane::kDraining, std::memory_order_acq_rel);
  drained_cv_.wait(lock, [&lane] { return lane.in_flight() == 0; });
  lane.state.fetch_and(~Lane::kDraining, std::memory_order_acq_rel);
}

std::size_t WorkerPool::queued() {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

bool WorkerPool::should_measure(int cost_class, std::array<int, OpCosts::kTypes>& unmeasured) {
  if (cost_class <= 0 || cost_class >= OpCosts::kTypes) return false;  // not recorded anyway
  int& since = unmeasured[static_cast<std::size_t>(cost_class)];
  if (costs_->estimate_ns(cost_class) != 0 && ++since < measure_every_) return false;
  since = 0;
  return true;
}

void WorkerPool::run() {
  // This worker's own generator, used instead of the callers' (see
  // wolfcrypt/worker_rng.h); freed when the worker exits.
  wolfcrypt::WorkerRng rng;
  // Operations run since this worker last measured one, per cost class.
  std::array<int, OpCosts::kTypes> unmeasured{};
  std::unique_lock lock(mu_);
  ++ready_;  // start-up over (see launched_)
  if (forking_) idle_cv_.notify_all();
  for (;;) {
    work_cv_.wait(lock, [this] { return !forking_ && (stop_ || !jobs_.empty()); });
    if (jobs_.empty()) return;  // stopping, and everything queued has run
    const Job job = jobs_.front();
    jobs_.pop_front();
    ++running_;
    queued_.store(jobs_.size(), std::memory_order_relaxed);
    // Under mu_, so withdraw() either finds the job queued or sees it taken.
    job.op->phase.store(OpPhase::kRunning, std::memory_order_relaxed);
    lock.unlock();

    const int cost_class = wolfcrypt::cost_class(job.op->dev, job.op->dev->sw.type);
    const bool measured = should_measure(cost_class, unmeasured) || job.measure;
    const Clock::time_point t0 = measured ? cost_clock_->now() : Clock::time_point();
    job.op->result = wolfcrypt::execute_with_rng(job.op->dev, rng);
    if (measured) {
      const Clock::duration cost = cost_clock_->now() - t0;
      costs_->record(cost_class, static_cast<std::uint64_t>(cost.count()));
    }

    // Busy while every worker still has a queued job to go on with: more
    // reports follow soon, so the owner's wake-up may wait for a batch.
    const bool busy = queued_.load(std::memory_order_relaxed) >= threads_.size();
    // The lane stops counting op before it is reported, so its owner can
    // submit again as soon as it harvests; after this the lane (and its
    // device) may be destroyed at any moment, so only `job` is used below.
    end_one(*job.lane, /*locked=*/false);
    // The sink publishes op->result (release) and hands op to its owner.
    job.sink->on_complete(job.op, busy);
    lock.lock();
    if (--running_ == 0 && forking_) idle_cv_.notify_all();
  }
}

}  // namespace asynccrypt
