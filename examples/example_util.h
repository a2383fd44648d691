// Small helpers the example programs share: option parsing, loopback sockets
// and RAII owners for wolfSSL objects. Header-only so that each example stays
// one translation unit.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "asynccrypt/fd.h"

namespace example {

// TlsOptions are the command-line settings tls_server and tls_client share.
struct TlsOptions {
  int version = 13;              // 13 = TLS 1.3, 12 = TLS 1.2.
  int port = 0;                  // 0: server picks a free port.
  std::string cert_dir = ".";    // where scripts/gen-certs.sh wrote its files.
  std::string key_type = "rsa";  // server certificate: "rsa" or "ecc".
  bool mutual = false;           // server asks for, client sends, a client cert.
};

inline void print_tls_usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [-v 12|13] [-p PORT] [-d CERT_DIR] [-k rsa|ecc] [-m]\n"
               "  -v  TLS version (default 13)\n"
               "  -p  port on 127.0.0.1 (server default 0: pick a free one and print it)\n"
               "  -d  directory written by scripts/gen-certs.sh (default .)\n"
               "  -k  server certificate type (default rsa)\n"
               "  -m  mutual authentication with client-cert.pem\n",
               argv0);
}

// parse_tls_options fills `out` from argv; false (after printing usage) on
// anything it does not understand.
inline bool parse_tls_options(int argc, char** argv, TlsOptions* out) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "-m") {
      out->mutual = true;
    } else if (arg == "-v" && has_value) {
      out->version = std::atoi(argv[++i]);
    } else if (arg == "-p" && has_value) {
      out->port = std::atoi(argv[++i]);
    } else if (arg == "-d" && has_value) {
      out->cert_dir = argv[++i];
    } else if (arg == "-k" && has_value) {
      out->key_type = argv[++i];
    } else {
      print_tls_usage(argv[0]);
      return false;
    }
  }
  if ((out->version != 12 && out->version != 13) || out->port < 0 || out->port > 65535 ||
      (out->key_type != "rsa" && out->key_type != "ecc")) {
    print_tls_usage(argv[0]);
    return false;
  }
  return true;
}

using Fd = asynccrypt::Fd;

inline void print_errno(const char* what) {
  std::fprintf(stderr, "%s failed: %s\n", what, std::strerror(errno));
}

inline sockaddr_in loopback_address(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// listen_loopback listens on 127.0.0.1:port (0 = any free port) and stores
// the port actually bound in *bound_port. Returns an invalid Fd on failure.
inline Fd listen_loopback(int port, int* bound_port) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  if (!fd.valid()) {
    print_errno("socket");
    return {};
  }
  const int on = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
    print_errno("setsockopt(SO_REUSEADDR)");
    return {};
  }
  sockaddr_in addr = loopback_address(port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    print_errno("bind");
    return {};
  }
  if (listen(fd.get(), 4) != 0) {
    print_errno("listen");
    return {};
  }
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    print_errno("getsockname");
    return {};
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

// connect_loopback connects to 127.0.0.1:port. Invalid Fd on failure.
inline Fd connect_loopback(int port) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  if (!fd.valid()) {
    print_errno("socket");
    return {};
  }
  sockaddr_in addr = loopback_address(port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    print_errno("connect");
    return {};
  }
  return fd;
}

// Owners for wolfSSL objects.
struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }
};
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;

// AsyncDevice opens the default asynccrypt device and closes it when done.
class AsyncDevice {
 public:
  AsyncDevice() = default;
  AsyncDevice(const AsyncDevice&) = delete;
  AsyncDevice& operator=(const AsyncDevice&) = delete;
  ~AsyncDevice() {
    if (id_ != INVALID_DEVID) wolfAsync_DevClose(&id_);
  }
  // open returns wolfAsync_DevOpen's code (0 on success).
  int open() { return wolfAsync_DevOpen(&id_); }
  int id() const { return id_; }

 private:
  int id_ = INVALID_DEVID;
};

// WolfSslLibrary brackets wolfSSL_Init and wolfSSL_Cleanup.
class WolfSslLibrary {
 public:
  WolfSslLibrary() : status_(wolfSSL_Init()) {}
  WolfSslLibrary(const WolfSslLibrary&) = delete;
  WolfSslLibrary& operator=(const WolfSslLibrary&) = delete;
  ~WolfSslLibrary() {
    if (status_ == WOLFSSL_SUCCESS) wolfSSL_Cleanup();
  }
  bool ok() const { return status_ == WOLFSSL_SUCCESS; }

 private:
  int status_;
};

// error_text describes a wolfSSL or wolfCrypt error code.
inline std::string error_text(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  // wolfSSL casts the value back to int, so negative codes pass through.
  wolfSSL_ERR_error_string(static_cast<unsigned long>(err), buf);
  return std::string(buf) + " (" + std::to_string(err) + ")";
}

// io_with_async_retry runs `op` (a wolfSSL_read or wolfSSL_write) in the
// README's retry style: while the record layer reports WC_PENDING_E, poll
// the device and call again. *pending counts those retries. Returns op's
// last result; on failure *err holds wolfSSL_get_error.
template <typename Op>
int io_with_async_retry(WOLFSSL* ssl, Op op, int* pending, int* err) {
  int ret;
  do {
    *err = 0;
    ret = op();
    if (ret <= 0) {
      *err = wolfSSL_get_error(ssl, 0);
      if (*err == WC_PENDING_E) {
        ++*pending;
        if (wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW) < 0) break;
      }
    }
  } while (*err == WC_PENDING_E);
  return ret;
}

// The messages the client and the server exchange.
inline constexpr std::string_view kClientHello = "ping from tls_client over asynccrypt";
inline constexpr std::string_view kServerReply = "pong from tls_server over asynccrypt";

}  // namespace example
