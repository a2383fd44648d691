// CtxAsync (see ctx_async.h).
#include "perf/ctx_async.h"

#include <cstdio>
#include <utility>

namespace perf {

bool CtxAsync::attach(WOLFSSL_CTX* ctx, std::string* error) {
  auto queue = asynccrypt::QueueFd::attach(perf_ctx_event_queue(ctx));
  if (!queue) {
    *error = "asynccrypt_QueueFd failed: " + error_text(queue.error().code());
    return false;
  }
  ctx_ = ctx;
  queue_ = std::move(*queue);
  return true;
}

void CtxAsync::release() {
  if (!queue_.attached()) return;
  if (auto released = queue_.release(); !released) {
    std::fprintf(stderr, "asynccrypt_QueueRelease: %s\n",
                 error_text(released.error().code()).c_str());
    // Forget the queue anyway (the move tries once more): it lives in the
    // context, which is freed next, and must not be released after that.
    queue_ = asynccrypt::QueueFd();
  }
  ctx_ = nullptr;
}

}  // namespace perf
