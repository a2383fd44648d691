// Runs one workload for a while, synchronously or on a device, and measures it.
#pragma once

#include <cstdint>
#include <string>

#include "workloads.h"

namespace asynccrypt::bench {

// What one timed run measured.
struct RunResult {
  std::uint64_t ops = 0;          // operations completed in the timed window
  std::uint64_t pended = 0;       // of those, how many went to the device
  std::uint64_t inline_runs = 0;  // device was full: ran on the submitting thread
  double seconds = 0;             // from the first start to the last completion
  double cpu_seconds = 0;         // CPU time of the whole process (all threads) meanwhile
  double p50_us = 0;              // latency, submission to result, median
  double p99_us = 0;              // and 99th percentile
  std::string error;              // empty when every operation succeeded and verified
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
};

// run_async keeps `depth` operations in flight, one per object (the objects
// must be bound to target.dev_id), from this one thread: each pending
// operation is queued with wc_AsyncHandle, completions are harvested with
// wolfAsync_EventQueuePoll, and when none is ready the thread sleeps on the
// queue's fd. New operations stop being started after `seconds`; those in
// flight are then drained (and counted).
RunResult run_async(Workload& workload, int depth, double seconds, const AsyncTarget& target);

}  // namespace asynccrypt::bench
