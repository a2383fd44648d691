// Command-line options of perf-server and perf-client: the original tools'
// flags, plus -t (threads), -d (device spec), --json and test aids.
#pragma once

#include <string>
#include <vector>

namespace perf {

// PerfOptions holds the settings of either tool; fields a tool does not
// use keep their defaults.
struct PerfOptions {
  int port = 11111;
  int version = 4;                // -v: 3 = TLS 1.2, 4 = TLS 1.3
  bool any_version = false;       // -a (server): downgrade method
  std::string cipher_list;        // -l
  std::string cert, key, ca;      // -c -k -A (defaults filled in by parse)
  long max_conns = 100;           // -n; 0 = no limit (server: until SIGINT/SIGTERM)
  long long max_bytes = -1;       // -B; -1 = no byte budget
  int concurrent = 15;            // -N
  int read_size = 16384;          // -R
  int write_size = 16384;         // -W
  int threads = 1;                // -t (server)
  bool resume = false;            // -r (client)
  std::string device;             // -d; "" = library default, "none" = synchronous
  bool json = false;              // --json
  bool http = false;              // --http: speak minimal HTTP/1.x (interop)
  bool client_cert = true;        // --no-client-cert turns mutual authentication off
  int abort_handshake = 0;        // --abort-handshake K (client, test aid)
  int abort_percent = 100;        // --abort-percent P: share of connections that abort
  unsigned long long seed = 0;    // --seed S: which connections abort (0 = from the clock)
  bool free_pending_now = false;  // --free-pending-now (server, test aid)
  bool busy_poll = false;         // --busy-poll (server): never sleep, poll the queue each turn
  bool quiet = false;             // -q: no "SSL cipher suite" line
  std::vector<int> groups;        // --groups: key-exchange groups, first = the key share
  // Bounds on peers that stall (0 = no bound). A connection whose handshake
  // has not finished handshake_timeout_ms after its TCP start, or that makes
  // no progress (no byte read or written) for idle_timeout_ms after it, is
  // closed and counted as a timeout; one with crypto in flight is shut down
  // at once and freed when the operation completes.
  int handshake_timeout_ms = 10000;  // --handshake-timeout MS
  int idle_timeout_ms = 30000;       // --idle-timeout MS
  // How long the exit path waits for operations in flight before it frees
  // their connections anyway (the free still waits for a worker's running
  // operation: asynccrypt_SslDrain). --drain-timeout MS.
  int drain_timeout_ms = 10000;
  // The server's private key in a PKCS#11 token (docs/hsm.md): the spec of
  // a pkcs11 device (--key-device) and the key's CKA_ID (--key-id, hex) or
  // CKA_LABEL (--key-label); -c still names the certificate, -k is unused.
  std::string key_device;
  std::string key_id;  // the id's bytes (parsed from hex)
  std::string key_label;
  // --key-pkcs11-sync: the same token, module and PIN as --key-device's
  // spec, but signed through wolfSSL's own synchronous PKCS#11 code (a
  // wolfSSL configured with --enable-pkcs11): the loop waits for each
  // signature. The baseline of the pkcs11 device (scripts/hsm-bench.sh).
  bool key_pkcs11_sync = false;
};

enum class Tool { kServer, kClient };

// parse_options fills *out from argv (argv[0] is the subcommand name).
// Returns 0 to run, 1 when usage was printed for -h/-?, 2 on a bad option
// (after printing usage).
int parse_options(Tool tool, int argc, char** argv, PerfOptions* out);

}  // namespace perf
