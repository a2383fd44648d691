// Owners for the wolfSSL objects an asynchronous TLS program holds (library, contexts,
// connections, sessions), so that every path out of a function frees them.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/async.h>

#include <memory>
#include <utility>

#include "asynccrypt/error.h"

namespace asynccrypt {
inline namespace api {

struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
// SslFree drains before it frees: on a worker device (threads, chaos over
// threads) a connection abandoned in mid-handshake may have an operation
// running on a worker that writes into buffers wolfSSL_free releases before
// the key whose free would wait for it. asynccrypt_SslDrain waits for that
// worker (a no-op when nothing runs), so the free is always safe.
struct SslFree {
  void operator()(WOLFSSL* ssl) const {
#ifdef WOLFSSL_ASYNC_CRYPT
    (void)asynccrypt_SslDrain(ssl);  // fails only for NULL, which unique_ptr never passes
#endif
    wolfSSL_free(ssl);
  }
};
struct SessionFree {
  void operator()(WOLFSSL_SESSION* session) const { wolfSSL_SESSION_free(session); }
};

// CtxPtr owns a WOLFSSL_CTX (wolfSSL_CTX_free). wolfSSL reference-counts
// contexts, so it may go before the connections made from it.
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
// SslPtr owns a connection: asynccrypt_SslDrain, then wolfSSL_free, so it
// may be freed at any point of a handshake on any device kind. The drain
// blocks the owner's thread while a worker finishes the connection's one
// running operation (at most one operation's time). Free it on the thread
// that owns the connection.
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;
// SessionPtr owns a session from wolfSSL_get1_session (wolfSSL_SESSION_free).
using SessionPtr = std::unique_ptr<WOLFSSL_SESSION, SessionFree>;

// WolfSslLibrary is one wolfSSL_Init, undone (wolfSSL_Cleanup) when the
// handle goes. wolfSSL counts them, so nested owners are fine. Move-only.
class WolfSslLibrary {
 public:
  WolfSslLibrary() = default;  // holds nothing; use init()
  WolfSslLibrary(WolfSslLibrary&& other) noexcept : held_(std::exchange(other.held_, false)) {}
  WolfSslLibrary& operator=(WolfSslLibrary&& other) noexcept {
    if (this != &other) {
      reset();
      held_ = std::exchange(other.held_, false);
    }
    return *this;
  }
  WolfSslLibrary(const WolfSslLibrary&) = delete;
  WolfSslLibrary& operator=(const WolfSslLibrary&) = delete;
  ~WolfSslLibrary() { reset(); }

  // init calls wolfSSL_Init; fails with its code.
  static Expected<WolfSslLibrary> init() {
    if (const int ret = wolfSSL_Init(); ret != WOLFSSL_SUCCESS) {
      return Error::from_code(ret, "wolfSSL_Init");
    }
    WolfSslLibrary out;
    out.held_ = true;
    return out;
  }

  bool held() const { return held_; }

 private:
  void reset() {
    if (held_) wolfSSL_Cleanup();
    held_ = false;
  }

  bool held_ = false;
};

}  // namespace api
}  // namespace asynccrypt
