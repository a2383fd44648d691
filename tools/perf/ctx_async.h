// CtxAsync: the completion side of a WOLFSSL_CTX's async event queue for an
// epoll loop: the queue's eventfd to sleep on, and harvesting of completed
// events back to the connections that wait for them.
#pragma once

#include <string>

#include "perf/stats.h"
#include "perf/tls_common.h"

namespace perf {

class CtxAsync {
 public:
  CtxAsync() = default;
  CtxAsync(const CtxAsync&) = delete;
  CtxAsync& operator=(const CtxAsync&) = delete;
  // The destructor releases asynccrypt's queue state; every WOLFSSL of the
  // context must be freed first (their events leave the queue with them).
  ~CtxAsync() { release(); }

  // attach asks asynccrypt for ctx's completion fd (asynccrypt_CtxQueueFd).
  // false with *error set.
  bool attach(WOLFSSL_CTX* ctx, std::string* error);
  // fd is readable while completions (or simulator work) wait for a poll.
  int fd() const { return fd_; }
  bool attached() const { return ctx_ != nullptr; }

  // harvest polls the context until no completed event is left and calls
  // on_ready(WOLFSSL*) for each TLS connection whose operation finished.
  // Time spent inside wolfSSL_CTX_AsyncPoll is added to *poll_s. Returns
  // false (with *error set) when the poll itself fails.
  template <typename OnReady>
  bool harvest(OnReady on_ready, double* poll_s, std::string* error);

  // release gives asynccrypt's queue state back (asynccrypt_CtxQueueRelease;
  // a failure is printed).
  void release();

 private:
  WOLFSSL_CTX* ctx_ = nullptr;  // attached context; its queue holds the fd
  int fd_ = -1;                 // owned by asynccrypt until release()
};

template <typename OnReady>
bool CtxAsync::harvest(OnReady on_ready, double* poll_s, std::string* error) {
  constexpr int kBatch = 32;
  WOLF_EVENT* events[kBatch];
  for (;;) {
    int count = 0;
    const auto t0 = Clock::now();
    const int ret = wolfSSL_CTX_AsyncPoll(ctx_, events, kBatch, WOLF_POLL_FLAG_CHECK_HW, &count);
    *poll_s += seconds_between(t0, Clock::now());
    if (ret < 0) {
      *error = "wolfSSL_CTX_AsyncPoll failed: " + error_text(ret);
      return false;
    }
    for (int i = 0; i < count; ++i) {
      if (events[i]->type == WOLF_EVENT_TYPE_ASYNC_WOLFSSL && events[i]->context != nullptr) {
        on_ready(static_cast<WOLFSSL*>(events[i]->context));
      }
    }
    if (count < kBatch) return true;
  }
}

}  // namespace perf
