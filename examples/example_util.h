// Small helpers the example programs share: option parsing, loopback sockets, the TLS context
// setup and the README's retry loop. The device, wolfSSL object and fd owners come from the
// asynccrypt C++ API (include/asynccrypt/). Header-only so that each example stays one
// translation unit.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "asynccrypt/device.h"
#include "asynccrypt/fd.h"
#include "asynccrypt/wolfssl_handles.h"

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

// parse_int reads a whole decimal number within [lo, hi] into *out; false
// for anything else ("12abc", "", out of range), where atoi would guess.
inline bool parse_int(const char* text, long lo, long hi, int* out) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

// parse_tls_options fills `out` from argv (getopt_long, as the perf tools
// do); false (after printing usage) on anything it does not understand.
inline bool parse_tls_options(int argc, char** argv, TlsOptions* out) {
  static const option kLong[] = {{"help", no_argument, nullptr, 'h'}, {nullptr, 0, nullptr, 0}};
  optind = 1;
  opterr = 0;
  bool ok = true;
  int c;
  while (ok && (c = getopt_long(argc, argv, "mv:p:d:k:h", kLong, nullptr)) != -1) {
    switch (c) {
      case 'm':
        out->mutual = true;
        break;
      case 'v':
        ok = parse_int(optarg, 12, 13, &out->version);
        break;
      case 'p':
        ok = parse_int(optarg, 0, 65535, &out->port);
        break;
      case 'd':
        out->cert_dir = optarg;
        break;
      case 'k':
        out->key_type = optarg;
        ok = out->key_type == "rsa" || out->key_type == "ecc";
        break;
      default:  // -h, an unknown option, a missing value
        ok = false;
    }
  }
  if (!ok || optind != argc) {
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

using CtxPtr = asynccrypt::CtxPtr;
using SslPtr = asynccrypt::SslPtr;

// error_text describes a wolfSSL or wolfCrypt error code.
inline std::string error_text(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  // wolfSSL casts the value back to int, so negative codes pass through.
  wolfSSL_ERR_error_string(static_cast<unsigned long>(err), buf);
  return std::string(buf) + " (" + std::to_string(err) + ")";
}

// io_with_async_retry runs `op` (wolfSSL_connect, wolfSSL_accept,
// wolfSSL_read or wolfSSL_write) in the README's retry style: while
// wolfSSL reports WC_PENDING_E, poll the device and call again. *pending
// counts those retries. Returns op's last result; on failure *err holds
// wolfSSL_get_error.
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

// Side is which end of the connection a program plays.
enum class Side { kClient, kServer };

inline const char* program_name(Side side) {
  return side == Side::kClient ? "tls_client" : "tls_server";
}

// TlsSetup is what both programs hold while they run. Members go in reverse
// order: the context first, then the device its crypto went to, then wolfSSL.
struct TlsSetup {
  asynccrypt::WolfSslLibrary library;
  asynccrypt::DeviceHandle device;
  CtxPtr ctx;
};

// load_cert_and_key makes `cert`/`key` (PEM files) the context's own.
inline bool load_cert_and_key(WOLFSSL_CTX* ctx, const std::string& cert, const std::string& key,
                              Side side) {
  if (wolfSSL_CTX_use_certificate_file(ctx, cert.c_str(), WOLFSSL_FILETYPE_PEM) !=
          WOLFSSL_SUCCESS ||
      wolfSSL_CTX_use_PrivateKey_file(ctx, key.c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "%s: cannot load %s / %s\n", program_name(side), cert.c_str(),
                 key.c_str());
    return false;
  }
  return true;
}

// setup_tls initialises wolfSSL, opens the default asynccrypt device
// ($ASYNCCRYPT_DEVICE, else the simulator) and makes a context for `opt`
// whose crypto goes to that device: the server with its certificate (and,
// with -m, requiring a client certificate), the client trusting the test CA
// (and, with -m, presenting its certificate). nullopt, after printing why,
// on failure.
inline std::optional<TlsSetup> setup_tls(Side side, const TlsOptions& opt) {
  const char* const name = program_name(side);
  TlsSetup t;
  auto library = asynccrypt::WolfSslLibrary::init();
  if (!library) {
    std::fprintf(stderr, "%s: %s\n", name, library.error().describe().c_str());
    return std::nullopt;
  }
  t.library = std::move(*library);
  auto device = asynccrypt::DeviceHandle::open_default();
  if (!device) {
    std::fprintf(stderr, "%s: async device open failed: %s\n", name,
                 device.error().describe().c_str());
    return std::nullopt;
  }
  t.device = std::move(*device);

  const bool client = side == Side::kClient;
  WOLFSSL_METHOD* method =
      opt.version == 13 ? (client ? wolfTLSv1_3_client_method() : wolfTLSv1_3_server_method())
                        : (client ? wolfTLSv1_2_client_method() : wolfTLSv1_2_server_method());
  t.ctx.reset(wolfSSL_CTX_new(method));
  if (!t.ctx) {
    std::fprintf(stderr, "%s: wolfSSL_CTX_new failed\n", name);
    return std::nullopt;
  }
  WOLFSSL_CTX* const ctx = t.ctx.get();
  // Own certificate: always for the server, with -m for the client.
  if (!client && !load_cert_and_key(ctx, opt.cert_dir + "/server-" + opt.key_type + "-cert.pem",
                                    opt.cert_dir + "/server-" + opt.key_type + "-key.pem", side)) {
    return std::nullopt;
  }
  if (client && opt.mutual &&
      !load_cert_and_key(ctx, opt.cert_dir + "/client-cert.pem", opt.cert_dir + "/client-key.pem",
                         side)) {
    return std::nullopt;
  }
  // The peer is verified against the test CA: always by the client, with
  // -m by the server (which then insists on a certificate).
  if (client || opt.mutual) {
    const std::string ca = opt.cert_dir + "/ca-cert.pem";
    if (wolfSSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != WOLFSSL_SUCCESS) {
      std::fprintf(stderr, "%s: cannot load CA %s\n", name, ca.c_str());
      return std::nullopt;
    }
    wolfSSL_CTX_set_verify(
        ctx,
        client ? WOLFSSL_VERIFY_PEER : WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        nullptr);
  } else {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  }
  // Every WOLFSSL made from this context sends its crypto to the device.
  if (wolfSSL_CTX_SetDevId(ctx, t.device.id()) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "%s: wolfSSL_CTX_SetDevId failed\n", name);
    return std::nullopt;
  }
  return t;
}

// new_connection makes a WOLFSSL from `ctx` on the connected socket `fd`;
// null, after printing why, on failure.
inline SslPtr new_connection(WOLFSSL_CTX* ctx, int fd, Side side) {
  SslPtr ssl(wolfSSL_new(ctx));
  if (!ssl || wolfSSL_set_fd(ssl.get(), fd) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "%s: wolfSSL_new/set_fd failed\n", program_name(side));
    return nullptr;
  }
  return ssl;
}

// handshake runs wolfSSL_connect (client) or wolfSSL_accept (server) in the
// README's loop: a pending handshake is not an error; poll the device for
// this connection's events and call again. Prints the outcome and
// "handshake_pending=N" (how often it was suspended), which the test driver
// checks. False, after printing why, when the handshake failed.
inline bool handshake(WOLFSSL* ssl, Side side) {
  const char* const name = program_name(side);
  int pending = 0;
  int err = 0;
  const int ret = io_with_async_retry(
      ssl, [&] { return side == Side::kClient ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl); },
      &pending, &err);
  if (ret != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "%s: %s failed: %s\n", name,
                 side == Side::kClient ? "wolfSSL_connect" : "wolfSSL_accept",
                 error_text(err != 0 ? err : ret).c_str());
    return false;
  }
  std::printf("%s: handshake done: %s, %s, suspended %d times on WC_PENDING_E\n", name,
              wolfSSL_get_version(ssl), wolfSSL_get_cipher(ssl), pending);
  std::printf("handshake_pending=%d\n", pending);
  return true;
}

// send_message writes `msg` in the README's retry loop, adding the
// suspensions to *io_pending. False, after printing why, on failure.
inline bool send_message(WOLFSSL* ssl, std::string_view msg, Side side, int* io_pending) {
  int err = 0;
  const int ret = io_with_async_retry(
      ssl, [&] { return wolfSSL_write(ssl, msg.data(), static_cast<int>(msg.size())); }, io_pending,
      &err);
  if (ret != static_cast<int>(msg.size())) {
    std::fprintf(stderr, "%s: wolfSSL_write failed: %s\n", program_name(side),
                 error_text(err).c_str());
    return false;
  }
  return true;
}

// receive_message reads one record in the README's retry loop (adding the
// suspensions to *io_pending), checks that it says `want` and prints it.
// False, after printing why, on failure or another message.
inline bool receive_message(WOLFSSL* ssl, std::string_view want, Side side, int* io_pending) {
  const char* const name = program_name(side);
  char buf[256] = {};
  int err = 0;
  const int ret = io_with_async_retry(
      ssl, [&] { return wolfSSL_read(ssl, buf, sizeof(buf) - 1); }, io_pending, &err);
  if (ret <= 0) {
    std::fprintf(stderr, "%s: wolfSSL_read failed: %s\n", name, error_text(err).c_str());
    return false;
  }
  const std::string_view got(buf, static_cast<size_t>(ret));
  if (got != want) {
    std::fprintf(stderr, "%s: unexpected message \"%.*s\"\n", name, static_cast<int>(got.size()),
                 got.data());
    return false;
  }
  std::printf("%s: received \"%.*s\"\n", name, static_cast<int>(got.size()), got.data());
  return true;
}

// tls_main is the main of both programs: parse the options, ignore SIGPIPE
// (a peer that hangs up first must not kill us on a write), then run.
inline int tls_main(int argc, char** argv, int (*run)(const TlsOptions&)) {
  TlsOptions opt;
  if (!parse_tls_options(argc, argv, &opt)) return 2;
  std::signal(SIGPIPE, SIG_IGN);
  return run(opt);
}

// The messages the client and the server exchange.
inline constexpr std::string_view kClientHello = "ping from tls_client over asynccrypt";
inline constexpr std::string_view kServerReply = "pong from tls_server over asynccrypt";

}  // namespace example
