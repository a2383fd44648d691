// Owners for the wolfSSL objects an asynchronous TLS program holds (library, contexts,
// connections, sessions), so that every path out of a function frees them.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/ssl.h>

#include <memory>
#include <utility>

#include "asynccrypt/error.h"

namespace asynccrypt {
inline namespace api {

struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }
};
struct SessionFree {
  void operator()(WOLFSSL_SESSION* session) const { wolfSSL_SESSION_free(session); }
};

// CtxPtr owns a WOLFSSL_CTX (wolfSSL_CTX_free). wolfSSL reference-counts
// contexts, so it may go before the connections made from it.
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
// SslPtr owns a connection (wolfSSL_free). On a worker device (threads),
// call asynccrypt_SslDrain before freeing one whose handshake still waits
// for an operation (see async.h).
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
