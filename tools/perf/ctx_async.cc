// CtxAsync (see ctx_async.h).
#include "perf/ctx_async.h"

#include <cstdio>

namespace perf {

bool CtxAsync::attach(WOLFSSL_CTX* ctx, std::string* error) {
  WOLF_EVENT_QUEUE* queue = perf_ctx_event_queue(ctx);
  const int fd = asynccrypt_QueueFd(queue);
  if (fd < 0) {
    *error = "asynccrypt_QueueFd failed: " + error_text(fd);
    return false;
  }
  ctx_ = ctx;
  queue_ = queue;
  fd_ = fd;
  return true;
}

void CtxAsync::release() {
  if (queue_ == nullptr) return;
  if (const int ret = asynccrypt_QueueRelease(queue_); ret != 0) {
    std::fprintf(stderr, "asynccrypt_QueueRelease: %s\n", error_text(ret).c_str());
  }
  queue_ = nullptr;
  ctx_ = nullptr;
  fd_ = -1;
}

}  // namespace perf
