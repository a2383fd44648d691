// CtxAsync (see ctx_async.h).
#include "perf/ctx_async.h"

#include <cstdio>

namespace perf {

bool CtxAsync::attach(WOLFSSL_CTX* ctx, std::string* error) {
  const int fd = asynccrypt_CtxQueueFd(ctx);
  if (fd < 0) {
    *error = "asynccrypt_CtxQueueFd failed: " + error_text(fd);
    return false;
  }
  ctx_ = ctx;
  fd_ = fd;
  return true;
}

void CtxAsync::release() {
  if (ctx_ == nullptr) return;
  if (const int ret = asynccrypt_CtxQueueRelease(ctx_); ret != 0) {
    // Forget the queue anyway: it lives in the context, which is freed
    // next, and must not be released after that.
    std::fprintf(stderr, "asynccrypt_CtxQueueRelease: %s\n", error_text(ret).c_str());
  }
  ctx_ = nullptr;
  fd_ = -1;
}

}  // namespace perf
