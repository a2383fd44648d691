// A test helper: in-memory TLS, client and server in one thread, each side
// reading from and writing to a byte queue through wolfSSL's I/O callbacks.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace testing_support {

// Pipe is one direction of the connection.
struct Pipe {
  std::vector<byte> data;
};

// wolfSSL receive callback (wolfSSL_SetIORecv); ctx is the Pipe to read.
inline int pipe_read(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  if (p->data.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const int n = std::min(sz, static_cast<int>(p->data.size()));
  std::memcpy(buf, p->data.data(), static_cast<std::size_t>(n));
  p->data.erase(p->data.begin(), p->data.begin() + n);
  return n;
}

// wolfSSL send callback (wolfSSL_SetIOSend); ctx is the Pipe to write.
inline int pipe_write(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  p->data.insert(p->data.end(), buf, buf + sz);
  return sz;
}

// One handshake step on ssl (client or server side), polling its context's
// queue when it pends: 1 done, 0 not yet (*pending counts the pends), else
// the wolfSSL error.
inline int handshake_step(WOLFSSL* ssl, bool client, int* pending) {
  const int ret = client ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl);
  if (ret == WOLFSSL_SUCCESS) return 1;
  const int err = wolfSSL_get_error(ssl, ret);
  if (err == WC_PENDING_E) {
    ++*pending;
    return wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW) < 0 ? -1 : 0;
  }
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return 0;
  return err < 0 ? err : -1;
}

}  // namespace testing_support
