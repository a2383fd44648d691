// The benchmark's two drivers: back-to-back synchronous calls, and N in flight on a device.
#include "driver.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <wolfssl/wolfcrypt/error-crypt.h>

#include "common/measure.h"

namespace asynccrypt::bench {
namespace {

using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

using measure::process_cpu_seconds;

// CPU time of the calling thread, in microseconds.
double thread_cpu_us() { return measure::thread_cpu_seconds() * 1e6; }

std::string describe(const char* what, int ret) {
  return std::string(what) + " returned " + wc_GetErrorString(ret) + " (" + std::to_string(ret) +
         ")";
}

// Checks every object that finished at least one operation.
void verify_objects(Workload& workload, const std::vector<bool>& finished, RunResult& result) {
  for (std::size_t i = 0; i < finished.size() && result.error.empty(); ++i) {
    if (!finished[i]) continue;
    std::string wrong = workload.verify(static_cast<int>(i));
    if (!wrong.empty()) result.error = "object " + std::to_string(i) + ": " + wrong;
  }
}

}  // namespace

double Latencies::percentile(double p) { return measure::percentile_unsorted(samples_, p / 100.0); }

double Latencies::max() const {
  return samples_.empty() ? 0 : *std::max_element(samples_.begin(), samples_.end());
}

RunResult run_sync(Workload& workload, double seconds) {
  RunResult result;
  Latencies latencies;
  latencies.reserve(1 << 16);
  const double cpu_begin = process_cpu_seconds();
  const double loop_cpu_begin = measure::thread_cpu_seconds();
  const Clock::time_point begin = Clock::now();
  const Clock::time_point deadline =
      begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point now = begin;
  do {
    const Clock::time_point t0 = now;
    int ret = workload.start(0);
    if (ret == WC_PENDING_E) {
      result.error = "a synchronous object answered WC_PENDING_E";
      break;
    }
    now = Clock::now();
    if (ret < 0) {
      result.error = describe("the operation", ret);
      break;
    }
    latencies.add(us_between(t0, now));
    ++result.ops;
  } while (now < deadline);
  result.seconds = std::chrono::duration<double>(now - begin).count();
  result.cpu_seconds = process_cpu_seconds() - cpu_begin;
  result.loop_cpu_seconds = measure::thread_cpu_seconds() - loop_cpu_begin;
  result.p50_us = latencies.percentile(50);
  result.p99_us = latencies.percentile(99);
  result.p50_poll_us = result.p50_us;
  result.p99_poll_us = result.p99_us;
  result.max_poll_us = latencies.max();
  if (result.error.empty() && result.ops > 0) verify_objects(workload, {true}, result);
  return result;
}

RunResult run_async(Workload& workload, int depth, double seconds, const AsyncTarget& target) {
  RunResult result;
  Latencies latencies;
  latencies.reserve(1 << 16);
  Latencies poll_times;  // one per wolfAsync_EventQueuePoll call
  poll_times.reserve(1 << 16);
  Latencies poll_cpu_times;  // the same polls on the thread's CPU clock
  if (target.poll_cpu_time) poll_cpu_times.reserve(1 << 16);
  asynccrypt_DevStats before{};
  asynccrypt_DevGetStats(target.dev_id, &before);  // NO_VALID_DEVID leaves zeros

  const double cpu_begin = process_cpu_seconds();
  const double loop_cpu_begin = measure::thread_cpu_seconds();
  const auto n = static_cast<std::size_t>(depth);
  std::vector<Clock::time_point> started(n);
  std::vector<bool> finished(n, false);
  std::unordered_map<const WC_ASYNC_DEV*, int> index;
  for (int i = 0; i < depth; ++i) index.emplace(workload.async_dev(i), i);
  std::vector<WOLF_EVENT*> events(n);
  const word32 flags = workload.call_again() ? WC_ASYNC_FLAG_CALL_AGAIN : WC_ASYNC_FLAG_NONE;

  const Clock::time_point begin = Clock::now();
  const Clock::time_point deadline =
      begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point now = begin;
  Clock::time_point last_completion = begin;
  bool stopping = false;
  int in_flight = 0;

  // Takes object i from a wolfCrypt result to its next pending operation:
  // queues a pending one; records a finished one and starts the next, until
  // the deadline. Operations below the device thresholds finish at once.
  auto advance = [&](int i, int ret) {
    for (;;) {
      if (ret == WC_PENDING_E) {
        const int pushed = wc_AsyncHandle(workload.async_dev(i), target.queue, flags);
        if (pushed != 0) {
          result.error = describe("wc_AsyncHandle", pushed);
          stopping = true;
          return;
        }
        ++in_flight;
        ++result.pended;
        return;
      }
      now = Clock::now();
      if (ret < 0) {
        if (result.error.empty()) result.error = describe("the operation", ret);
        stopping = true;
        return;
      }
      latencies.add(us_between(started[static_cast<std::size_t>(i)], now));
      finished[static_cast<std::size_t>(i)] = true;
      ++result.ops;
      last_completion = now;
      if (stopping || now >= deadline) {
        stopping = true;
        return;
      }
      started[static_cast<std::size_t>(i)] = now;
      ret = workload.start(i);
    }
  };

  for (int i = 0; i < depth && !stopping; ++i) {
    started[static_cast<std::size_t>(i)] = Clock::now();
    advance(i, workload.start(i));
  }

  int idle_waits = 0;
  while (in_flight > 0) {
    int count = 0;
    const double cpu_start = target.poll_cpu_time ? thread_cpu_us() : 0;
    const Clock::time_point poll_start = Clock::now();
    const int ret = wolfAsync_EventQueuePoll(target.queue, nullptr, events.data(), depth,
                                             WOLF_POLL_FLAG_CHECK_HW, &count);
    poll_times.add(us_between(poll_start, Clock::now()));
    if (target.poll_cpu_time) poll_cpu_times.add(thread_cpu_us() - cpu_start);
    ++result.polls;
    if (ret != 0) {
      result.error = describe("wolfAsync_EventQueuePoll", ret);
      break;  // the workload's destructor cancels what is left
    }
    if (count == 0) {
      // Nothing ready: sleep until the queue's fd says a completion waits.
      pollfd p{target.queue_fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 1000);
      if (ready < 0 && errno != EINTR) {
        result.error = std::string("poll: ") + std::strerror(errno);
        break;
      }
      if (ready == 0 && ++idle_waits >= 10) {
        result.error = "no completion for 10 s with " + std::to_string(in_flight) + " in flight";
        break;
      }
      continue;
    }
    idle_waits = 0;
    if (!stopping && Clock::now() >= deadline) stopping = true;
    for (int e = 0; e < count; ++e) {
      WOLF_EVENT* event = events[static_cast<std::size_t>(e)];
      const auto it = index.find(static_cast<const WC_ASYNC_DEV*>(event->context));
      if (it == index.end()) {
        result.error = "harvested an event of an unknown object";
        stopping = true;
        continue;
      }
      --in_flight;
      const int i = it->second;
      int op_ret = wolfAsync_EventPop(event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
      if (op_ret >= 0 && workload.call_again()) op_ret = workload.again(i);
      advance(i, op_ret);
    }
  }

  result.seconds = std::chrono::duration<double>(last_completion - begin).count();
  result.cpu_seconds = process_cpu_seconds() - cpu_begin;
  result.loop_cpu_seconds = measure::thread_cpu_seconds() - loop_cpu_begin;
  result.p50_us = latencies.percentile(50);
  result.p99_us = latencies.percentile(99);
  result.p50_poll_us = poll_times.percentile(50);
  result.p99_poll_us = poll_times.percentile(99);
  result.max_poll_us = poll_times.max();
  if (target.poll_cpu_time) {
    result.p99_poll_cpu_us = poll_cpu_times.percentile(99);
    result.max_poll_cpu_us = poll_cpu_times.max();
  }
  asynccrypt_DevStats after{};
  if (asynccrypt_DevGetStats(target.dev_id, &after) == 0) {
    result.inline_runs = after.inline_runs - before.inline_runs;
  }
  if (result.error.empty()) verify_objects(workload, finished, result);
  return result;
}

}  // namespace asynccrypt::bench
