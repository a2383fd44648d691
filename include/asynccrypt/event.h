// Waiting for asynchronous operations: the README's wc_AsyncWait retry loop for one wolfCrypt
// object (call_and_wait), and sleeping until a queue's completion fd is readable (wait_readable).
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <poll.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "asynccrypt/error.h"

namespace asynccrypt {
inline namespace api {

// call_and_wait runs `call` (a wolfCrypt call on the object whose async
// record is `dev`, e.g. [&] { return wc_RsaSSL_Sign(..., &key, &rng); }) in
// the README's shape: while it answers WC_PENDING_E, wait for the operation
// with wc_AsyncWait(..., WC_ASYNC_FLAG_CALL_AGAIN) and call again, which
// collects the result. Returns the call's final non-negative result (a
// length, or 0), or an Error with its negative code; `what` names the call
// in that Error. *pended, when given, counts the WC_PENDING_E answers (0
// when the call ran synchronously).
//
// Safety: blocks the calling thread until the operation is done; the
// object, and every buffer the call was given, must stay alive until then
// (they do: the call returns only after the last retry).
template <typename Call>
Expected<int> call_and_wait(WC_ASYNC_DEV* dev, Call&& call, std::string_view what,
                            int* pended = nullptr) {
  int ret = 0;
  int pends = 0;
  do {
    // wc_AsyncWait passes a non-pending ret through, so the first round
    // makes the call and every later round first waits, then calls again.
    ret = wc_AsyncWait(ret, dev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) {
      ret = call();
      if (ret == WC_PENDING_E) ++pends;
    }
  } while (ret == WC_PENDING_E);
  if (pended != nullptr) *pended = pends;
  if (ret < 0) return Error::from_code(ret, what);
  return ret;
}

// wait_readable sleeps until `fd` (a QueueFd's fd) is readable or
// timeout_ms passes (-1: no limit). Returns true when readable, false on
// timeout, or an Error with WC_HW_E when poll(2) fails (EINTR is retried).
inline Expected<bool> wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0 || (n > 0 && (p.revents & POLLNVAL) != 0)) {
    return Error(WC_HW_E, "poll on the completion fd failed");
  }
  return n > 0;
}

}  // namespace api
}  // namespace asynccrypt
