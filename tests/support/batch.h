// A test helper: a batch of asynchronous wolfCrypt operations (Job), all in flight at once,
// harvested through one queue on the calling thread (sleeping on its fd while a worker
// device computes; polling a poll-driven one).
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <functional>
#include <map>
#include <vector>

#include "asynccrypt/event.h"
#include "asynccrypt/queue.h"
#include "support/deadline.h"

namespace testing_support {

// One asynchronous operation of a batch: `start` calls the wolfCrypt API;
// when it pends, the event goes to the queue; once harvested, `again` (when
// set) is called to finish a CALL_AGAIN operation; `finish` gets the result.
struct Job {
  WC_ASYNC_DEV* dev = nullptr;
  std::function<int()> start;
  std::function<int()> again;
  std::function<void(int)> finish;
};

struct BatchStats {
  int pended = 0;  // operations that went to the device
};

// Runs all jobs with every operation in flight at once, harvesting
// completions through the queue on this thread (sleeping on its fd).
inline BatchStats run_batch(asynccrypt::EventQueue& queue, std::vector<Job>& jobs) {
  BatchStats stats;
  std::map<WC_ASYNC_DEV*, Job*> by_dev;
  int pending = 0;
  auto advance = [&](Job& job, int ret) {
    while (ret == WC_PENDING_E) {
      ++stats.pended;
      const int pushed = wc_AsyncHandle(job.dev, queue.get(), WC_ASYNC_FLAG_NONE);
      EXPECT_EQ(pushed, 0);
      if (pushed == 0) {
        ++pending;
        by_dev[job.dev] = &job;
        return;
      }
      ret = pushed;
    }
    job.finish(ret);
  };
  for (Job& job : jobs) advance(job, job.start());

  const pthread_t self = pthread_self();
  const Deadline deadline;
  while (pending > 0) {
    WOLF_EVENT* events[32];
    int count = 0;
    EXPECT_EQ(
        wolfAsync_EventQueuePoll(queue.get(), nullptr, events, 32, WOLF_POLL_FLAG_CHECK_HW, &count),
        0);
    if (count == 0) {
      // A worker device makes the fd readable when something completes; a
      // poll-driven one (sim, chaos) finishes work only inside polls, so
      // the wait is short and the loop polls again, until the deadline.
      auto fd = queue.fd();
      auto ready = fd ? asynccrypt::wait_readable(*fd, 1) : asynccrypt::Expected<bool>(fd.error());
      EXPECT_TRUE(ready) << ready.error().describe();
      EXPECT_FALSE(deadline.passed())
          << "no completion within " << Deadline::kGenerous.count() << " s";
      if (!ready || deadline.passed()) return stats;
      continue;
    }
    for (int i = 0; i < count; ++i) {
      WOLF_EVENT* event = events[i];
      EXPECT_TRUE(pthread_equal(event->threadId, self)) << "harvested on another thread";
      auto* dev = static_cast<WC_ASYNC_DEV*>(event->context);
      auto it = by_dev.find(dev);
      EXPECT_NE(it, by_dev.end());
      if (it == by_dev.end()) continue;
      Job& job = *it->second;
      by_dev.erase(it);
      --pending;
      int ret = wolfAsync_EventPop(event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
      if (ret >= 0 && job.again) ret = job.again();
      advance(job, ret);
    }
  }
  return stats;
}

}  // namespace testing_support
