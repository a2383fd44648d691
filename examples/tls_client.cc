// Example: a TLS client whose handshake crypto runs on the asynccrypt device,
// driven like the README's server loop but with wolfSSL_connect. Connects to
// tls_server on 127.0.0.1, verifies it against the test CA, sends a message
// and checks the answer.
//
// Prints "handshake_pending=N": how often the handshake was suspended on the
// device.
#include "example_util.h"

namespace {

int run(const example::TlsOptions& opt) {
  if (opt.port == 0) {
    std::fprintf(stderr, "tls_client: -p PORT is required\n");
    return 2;
  }
  example::WolfSslLibrary library;
  if (!library.ok()) {
    std::fprintf(stderr, "tls_client: wolfSSL_Init failed\n");
    return 1;
  }

  example::AsyncDevice device;
  if (int ret = device.open(); ret != 0) {
    std::fprintf(stderr, "tls_client: async device open failed: %s\n",
                 example::error_text(ret).c_str());
    return 1;
  }

  WOLFSSL_METHOD* method =
      opt.version == 13 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method();
  example::CtxPtr ctx(wolfSSL_CTX_new(method));
  if (!ctx) {
    std::fprintf(stderr, "tls_client: wolfSSL_CTX_new failed\n");
    return 1;
  }
  const std::string ca = opt.cert_dir + "/ca-cert.pem";
  if (wolfSSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_client: cannot load CA %s\n", ca.c_str());
    return 1;
  }
  wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER, nullptr);
  if (opt.mutual) {
    const std::string cert = opt.cert_dir + "/client-cert.pem";
    const std::string key = opt.cert_dir + "/client-key.pem";
    if (wolfSSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), WOLFSSL_FILETYPE_PEM) !=
            WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM) !=
            WOLFSSL_SUCCESS) {
      std::fprintf(stderr, "tls_client: cannot load %s / %s\n", cert.c_str(), key.c_str());
      return 1;
    }
  }
  if (wolfSSL_CTX_SetDevId(ctx.get(), device.id()) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_client: wolfSSL_CTX_SetDevId failed\n");
    return 1;
  }

  example::Fd conn = example::connect_loopback(opt.port);
  if (!conn.valid()) return 1;
  example::SslPtr ssl(wolfSSL_new(ctx.get()));
  if (!ssl || wolfSSL_set_fd(ssl.get(), conn.get()) != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_client: wolfSSL_new/set_fd failed\n");
    return 1;
  }
  // The server certificate names localhost; make wolfSSL check that too.
  if (wolfSSL_check_domain_name(ssl.get(), "localhost") != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_client: wolfSSL_check_domain_name failed\n");
    return 1;
  }

  // The README's loop with wolfSSL_connect in place of wolfSSL_accept.
  int handshake_pending = 0;
  int ret;
  int err;
  do {
    err = 0;
    ret = wolfSSL_connect(ssl.get());
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
    std::fprintf(stderr, "tls_client: wolfSSL_connect failed: %s\n",
                 example::error_text(err != 0 ? err : ret).c_str());
    return 1;
  }
  std::printf("tls_client: handshake done: %s, %s, suspended %d times on WC_PENDING_E\n",
              wolfSSL_get_version(ssl.get()), wolfSSL_get_cipher(ssl.get()), handshake_pending);
  std::printf("handshake_pending=%d\n", handshake_pending);

  int io_pending = 0;
  const auto hello = example::kClientHello;
  ret = example::io_with_async_retry(
      ssl.get(),
      [&] { return wolfSSL_write(ssl.get(), hello.data(), static_cast<int>(hello.size())); },
      &io_pending, &err);
  if (ret != static_cast<int>(hello.size())) {
    std::fprintf(stderr, "tls_client: wolfSSL_write failed: %s\n",
                 example::error_text(err).c_str());
    return 1;
  }

  char buf[256] = {};
  ret = example::io_with_async_retry(
      ssl.get(), [&] { return wolfSSL_read(ssl.get(), buf, sizeof(buf) - 1); }, &io_pending, &err);
  if (ret <= 0) {
    std::fprintf(stderr, "tls_client: wolfSSL_read failed: %s\n", example::error_text(err).c_str());
    return 1;
  }
  const std::string_view got(buf, static_cast<size_t>(ret));
  if (got != example::kServerReply) {
    std::fprintf(stderr, "tls_client: unexpected reply \"%.*s\"\n", static_cast<int>(got.size()),
                 got.data());
    return 1;
  }
  std::printf("tls_client: received \"%.*s\"; record layer suspended %d times\n",
              static_cast<int>(got.size()), got.data(), io_pending);

  wolfSSL_shutdown(ssl.get());
  std::printf("tls_client: ok\n");
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
