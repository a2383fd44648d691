// Example: a TLS server whose handshake crypto runs on the asynccrypt device,
// driven by the README's loop (wolfSSL_accept, then wolfSSL_AsyncPoll while
// wolfSSL_get_error says WC_PENDING_E). Serves one connection on 127.0.0.1,
// reads the client's message, checks it and answers.
//
// Prints "listening on port N" once ready and, after the handshake,
// "handshake_pending=N": how often the handshake was suspended on the device.
#include "example_util.h"

namespace {

int run(const example::TlsOptions& opt) {
  example::WolfSslLibrary library;
  if (!library.ok()) {
    std::fprintf(stderr, "tls_server: wolfSSL_Init failed\n");
    return 1;
  }

  example::AsyncDevice device;
  if (int ret = device.open(); ret != 0) {
    std::fprintf(stderr, "tls_server: async device open failed: %s\n",
                 example::error_text(ret).c_str());
    return 1;
  }

  WOLFSSL_METHOD* method =
      opt.version == 13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method();
  example::CtxPtr ctx(wolfSSL_CTX_new(method));
  if (!ctx) {
    std::fprintf(stderr, "tls_server: wolfSSL_CTX_new failed\n");
    return 1;
  }
  const std::string cert = opt.cert_dir + "/server-" + opt.key_type + "-cert.pem";
  const std::string key = opt.cert_dir + "/server-" + opt.key_type + "-key.pem";
  if (wolfSSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), WOLFSSL_FILETYPE_PEM) !=
          WOLFSSL_SUCCESS ||
      wolfSSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM) !=
          WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_server: cannot load %s / %s\n", cert.c_str(), key.c_str());
    return 1;
  }
  if (opt.mutual) {
    const std::string ca = opt.cert_dir + "/ca-cert.pem";
    if (wolfSSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != WOLFSSL_SUCCESS) {
      std::fprintf(stderr, "tls_server: cannot load CA %s\n", ca.c_str());
      return 1;
    }
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                           nullptr);
  } else {
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  }
  // Every WOLFSSL made from this context sends its crypto to the device.
  if (wolfSSL_CTX_SetDevId(ctx.get(), device.id()) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_server: wolfSSL_CTX_SetDevId failed\n");
    return 1;
  }

  int port = 0;
  example::Fd listener = example::listen_loopback(opt.port, &port);
  if (!listener.valid()) return 1;
  std::printf("tls_server: listening on port %d\n", port);
  std::fflush(stdout);  // the test driver waits for this line.

  example::Fd conn(accept(listener.get(), nullptr, nullptr));
  if (!conn.valid()) {
    example::print_errno("accept");
    return 1;
  }
  example::SslPtr ssl(wolfSSL_new(ctx.get()));
  if (!ssl || wolfSSL_set_fd(ssl.get(), conn.get()) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_server: wolfSSL_new/set_fd failed\n");
    return 1;
  }

  // The README's server loop: a pending handshake is not an error; poll the
  // device for this connection's events and call wolfSSL_accept again.
  int handshake_pending = 0;
  int ret;
  int err;
  do {
    err = 0;
    ret = wolfSSL_accept(ssl.get());
    if (ret <= 0) {
      err = wolfSSL_get_error(ssl.get(), 0);
      if (err == WC_PENDING_E) {
        ++handshake_pending;
        ret = wolfSSL_AsyncPoll(ssl.get(), WOLF_POLL_FLAG_CHECK_HW);
        if (ret < 0) break;
      }
    }
  } while (err == WC_PENDING_E);
  if (ret != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_server: wolfSSL_accept failed: %s\n",
                 example::error_text(err != 0 ? err : ret).c_str());
    return 1;
  }
  std::printf("tls_server: handshake done: %s, %s, suspended %d times on WC_PENDING_E\n",
              wolfSSL_get_version(ssl.get()), wolfSSL_get_cipher(ssl.get()), handshake_pending);
  std::printf("handshake_pending=%d\n", handshake_pending);

  int io_pending = 0;
  char buf[256] = {};
  ret = example::io_with_async_retry(
      ssl.get(), [&] { return wolfSSL_read(ssl.get(), buf, sizeof(buf) - 1); }, &io_pending, &err);
  if (ret <= 0) {
    std::fprintf(stderr, "tls_server: wolfSSL_read failed: %s\n", example::error_text(err).c_str());
    return 1;
  }
  const std::string_view got(buf, static_cast<size_t>(ret));
  if (got != example::kClientHello) {
    std::fprintf(stderr, "tls_server: unexpected message \"%.*s\"\n", static_cast<int>(got.size()),
                 got.data());
    return 1;
  }
  std::printf("tls_server: received \"%.*s\"\n", static_cast<int>(got.size()), got.data());

  const auto reply = example::kServerReply;
  ret = example::io_with_async_retry(
      ssl.get(),
      [&] { return wolfSSL_write(ssl.get(), reply.data(), static_cast<int>(reply.size())); },
      &io_pending, &err);
  if (ret != static_cast<int>(reply.size())) {
    std::fprintf(stderr, "tls_server: wolfSSL_write failed: %s\n",
                 example::error_text(err).c_str());
    return 1;
  }
  std::printf("tls_server: replied; record layer suspended %d times\n", io_pending);

  wolfSSL_shutdown(ssl.get());  // best effort: the client may already be gone.
  std::printf("tls_server: ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  example::TlsOptions opt;
  if (!example::parse_tls_options(argc, argv, &opt)) return 2;
  // A peer that hangs up first must not kill us with SIGPIPE on a write.
  std::signal(SIGPIPE, SIG_IGN);
  return run(opt);
}
