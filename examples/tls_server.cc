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
  std::optional<example::TlsSetup> tls = example::setup_tls(example::Side::kServer, opt);
  if (!tls) return 1;

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
  example::SslPtr ssl = example::new_connection(tls->ctx.get(), conn.get(), example::Side::kServer);
  if (!ssl) return 1;

  // The README's server loop: a pending handshake is not an error; poll the
  // device for this connection's events and call wolfSSL_accept again.
  if (!example::handshake(ssl.get(), example::Side::kServer)) return 1;

  int io_pending = 0;
  if (!example::receive_message(ssl.get(), example::kClientHello, example::Side::kServer,
                                &io_pending) ||
      !example::send_message(ssl.get(), example::kServerReply, example::Side::kServer,
                             &io_pending)) {
    return 1;
  }
  std::printf("tls_server: replied; record layer suspended %d times\n", io_pending);

  wolfSSL_shutdown(ssl.get());  // best effort: the client may already be gone.
  std::printf("tls_server: ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return example::tls_main(argc, argv, run); }
