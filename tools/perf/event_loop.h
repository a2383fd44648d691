// EventLoop: what perf-server's and perf-client's epoll loops share: the
// device, the TLS context and its completion queue, the epoll set, timeout
// sweeps, harvesting completions, and the drain and teardown at exit.
#pragma once

#include <string>

#include "perf/ctx_async.h"
#include "perf/net.h"
#include "perf/stats.h"
#include "perf/tls_common.h"

namespace perf {

// LoopSetup is how a tool wants its loop built.
struct LoopSetup {
  std::string device;          // -d spec ("" = the library default, "none")
  bool per_thread = false;     // open the device for the calling thread
  bool attach_always = false;  // attach the queue without a device too (a
                               // key in a token completes through it)
  bool watch_queue = true;     // add the queue's fd to the epoll set (false
                               // for --busy-poll, which polls every turn)
  int handshake_timeout_ms = 0;
  int idle_timeout_ms = 0;
};

class EventLoop {
 public:
  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // open opens the device, builds the context for `cfg` with the device's
  // id, creates the epoll set, and attaches the context's queue when a
  // device is open (or setup.attach_always), adding its fd to the set with
  // setup.watch_queue. false with *error set.
  bool open(const LoopSetup& setup, const TlsConfig& cfg, std::string* error);

  WOLFSSL_CTX* ctx() const { return ctx_.get(); }
  Epoll& epoll() { return epoll_; }
  const std::string& device_name() const { return device_name_; }
  // attached says whether completions come through the context's queue.
  bool attached() const { return async_.attached(); }
  // is_queue says whether an epoll event's data is the queue's fd.
  bool is_queue(const void* tag) const { return tag == &queue_tag_; }

  // harvest polls the queue until empty and calls on_ready(WOLFSSL*) for
  // each connection whose operation completed (CtxAsync::harvest).
  template <typename OnReady>
  bool harvest(OnReady on_ready, double* poll_s, std::string* error) {
    return async_.harvest(on_ready, poll_s, error);
  }

  // Timeouts are checked in sweeps, one every tick while connections are
  // open, so a connection outlives its deadline by at most one tick (an
  // eighth of the shortest timeout, 5..250 ms; no sweeps without one).
  // sweep_due is true, and schedules the next, when a sweep is due at now.
  bool sweep_due(Clock::time_point now);
  // next_sweep is when the next sweep is due; max() without timeouts.
  Clock::time_point next_sweep() const;

  // handshake_deadline is when a connection started at `start` must have
  // finished its handshake; idle_deadline when one that made progress
  // just now must make more (max() = never).
  Clock::time_point handshake_deadline(Clock::time_point start) const;
  Clock::time_point idle_deadline() const;

  // drain lets operations in flight finish before the exit frees their
  // connections. Each round calls settle(), which closes what it can and
  // returns whether an operation is still in flight; between rounds it
  // waits up to wait_ms for the queue and harvests into on_ready. It stops
  // when nothing is in flight, without a queue, after timeout_ms, or when
  // the wait or the poll fails.
  template <typename Settle, typename OnReady>
  void drain(int timeout_ms, int wait_ms, Settle settle, OnReady on_ready, double* poll_s);

  // close releases the queue, frees the context, adds the device's counts
  // to *ops and *inline_ops and closes it. Every WOLFSSL of the context
  // must be freed first.
  void close(long long* ops, long long* inline_ops);

 private:
  asynccrypt::DeviceHandle device_;
  std::string device_name_ = "none";  // for the report; stays after close
  CtxPtr ctx_;
  CtxAsync async_;  // after ctx_: released before the context is freed
  Epoll epoll_;
  Clock::duration tick_{};  // zero: no timeouts, no sweeps
  Clock::time_point next_sweep_{};
  int handshake_timeout_ms_ = 0;
  int idle_timeout_ms_ = 0;
  char queue_tag_ = 0;  // the queue fd's epoll data
};

template <typename Settle, typename OnReady>
void EventLoop::drain(int timeout_ms, int wait_ms, Settle settle, OnReady on_ready,
                      double* poll_s) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string error;
  epoll_event events[8];
  for (;;) {
    if (!settle() || !async_.attached() || Clock::now() > deadline) return;
    if (epoll_.wait(events, 8, wait_ms) < 0) return;
    if (!async_.harvest(on_ready, poll_s, &error)) return;
  }
}

}  // namespace perf
