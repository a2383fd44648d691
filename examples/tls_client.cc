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
  std::optional<example::TlsSetup> tls = example::setup_tls(example::Side::kClient, opt);
  if (!tls) return 1;

  example::Fd conn = example::connect_loopback(opt.port);
  if (!conn.valid()) return 1;
  example::SslPtr ssl = example::new_connection(tls->ctx.get(), conn.get(), example::Side::kClient);
  if (!ssl) return 1;
  // The server certificate names localhost; make wolfSSL check that too.
  if (wolfSSL_check_domain_name(ssl.get(), "localhost") != WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "tls_client: wolfSSL_check_domain_name failed\n");
    return 1;
  }

  // The README's loop with wolfSSL_connect in place of wolfSSL_accept.
  if (!example::handshake(ssl.get(), example::Side::kClient)) return 1;

  int io_pending = 0;
  if (!example::send_message(ssl.get(), example::kClientHello, example::Side::kClient,
                             &io_pending) ||
      !example::receive_message(ssl.get(), example::kServerReply, example::Side::kClient,
                                &io_pending)) {
    return 1;
  }
  std::printf("tls_client: record layer suspended %d times\n", io_pending);

  wolfSSL_shutdown(ssl.get());
  std::printf("tls_client: ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return example::tls_main(argc, argv, run); }
