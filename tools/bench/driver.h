// Runs one workload for a while, synchronously or on a device, and measures it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads.h"

namespace asynccrypt::bench {

// Latencies in microseconds; float keeps millions of samples small.
class Latencies {
 public:
  void reserve(std::size_t n) { samples_.reserve(n); }
  void add(double us) { samples_.push_back(static_cast<float>(us)); }
  std::size_t size() const { return samples_.size(); }
  // The p-th percentile (p in [0, 100]; nearest rank, measure::percentile,
  // as the perf tools report); 0 when empty.
  double percentile(double p);
  double max() const;

 private:
  std::vector<float> samples_;
};

// What one timed run measured.
struct RunResult {
  std::uint64_t ops = 0;          // operations completed in the timed window
  std::uint64_t pended = 0;       // of those, how many went to the device
  std::uint64_t inline_runs = 0;  // device was full: ran on the submitting thread
  double seconds = 0;             // from the first start to the last completion
  double cpu_seconds = 0;         // CPU time of the whole process (all threads) meanwhile
  double loop_cpu_seconds = 0;    // of that, the submitting thread's
  double p50_us = 0;              // latency, submission to result, median
  double p99_us = 0;              // and 99th percentile
  // How long the thread was held at a time: each wolfAsync_EventQueuePoll
  // call on a device; each whole operation in a synchronous run (a loop
  // that calls wolfCrypt directly is held that long).
  std::uint64_t polls = 0;  // device runs: wolfAsync_EventQueuePoll calls
  double p50_poll_us = 0;
  double p99_poll_us = 0;
  double max_poll_us = 0;
  double p99_poll_cpu_us = 0;  // with AsyncTarget::poll_cpu_time only
  double max_poll_cpu_us = 0;
  std::string error;  // empty when every operation succeeded and verified
};

// run_sync calls the workload's object 0 back to back on this thread for
// `seconds` (the objects must be bound to INVALID_DEVID).
RunResult run_sync(Workload& workload, double seconds);

// AsyncTarget is the device side of an asynchronous run: an opened device and
// one event queue with its completion fd, all used by this thread only.
struct AsyncTarget {
  int dev_id = INVALID_DEVID;
  WOLF_EVENT_QUEUE* queue = nullptr;
  int queue_fd = -1;  // asynccrypt_QueueFd(queue)
  // Also time each poll with the thread's CPU clock (p99/max_poll_cpu_us):
  // unlike the wall clock it leaves out preemption by the host or other
  // processes, so it shows how much work one poll really did. Two system
  // calls per poll: rates measured with it are a little lower.
  bool poll_cpu_time = false;
};

// run_async keeps `depth` operations in flight, one per object (the objects
// must be bound to target.dev_id), from this one thread: each pending
// operation is queued with wc_AsyncHandle, completions are harvested with
// wolfAsync_EventQueuePoll, and when none is ready the thread sleeps on the
// queue's fd. New operations stop being started after `seconds`; those in
// flight are then drained (and counted).
RunResult run_async(Workload& workload, int depth, double seconds, const AsyncTarget& target);

}  // namespace asynccrypt::bench
