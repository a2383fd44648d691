// Parsing of the perf tools' command lines (getopt_long; the original's
// short options keep their letters and meanings).
#include "perf/options.h"

#include <getopt.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/numbers.h"
#include "perf/tls_common.h"

namespace perf {
namespace {

namespace cli = asynccrypt::cli;

enum LongOnly {
  kJson = 1000,
  kHttp,
  kNoClientCert,
  kAbortHandshake,
  kAbortPercent,
  kSeed,
  kFreePendingNow,
  kGroups,
  kHandshakeTimeout,
  kIdleTimeout,
  kDrainTimeout,
  kKeyDevice,
  kKeyId,
  kKeyLabel,
  kKeyPkcs11Sync,
  kBusyPoll
};

// hex_bytes decodes an even number of hex digits; false on anything else.
bool hex_bytes(const std::string& hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  out->clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    char* end = nullptr;
    const std::string pair = hex.substr(i, 2);
    const long v = std::strtol(pair.c_str(), &end, 16);
    if (*end != '\0') return false;
    out->push_back(static_cast<char>(v));
  }
  return true;
}

// The largest timeout the options take: a day, in milliseconds (fits an
// int and epoll_wait's timeout).
constexpr long long kMaxTimeoutMs = 24LL * 3600 * 1000;

void print_usage(Tool tool) {
  const bool server = tool == Tool::kServer;
  const std::string found = default_cert_dir();
  const std::string certs = found.empty() ? "CERTS" : found;
  std::fprintf(stderr, "usage: asynccrypt %s [options]\n", server ? "perf-server" : "perf-client");
  std::fprintf(stderr,
               "  -?, -h       help\n"
               "  -p <num>     port (default 11111%s)\n"
               "  -v <num>     TLS version: 3 = TLS 1.2, 4 = TLS 1.3 (default 4)\n",
               server ? "; 0 = any free port, printed" : "");
  if (server) std::fprintf(stderr, "  -a           accept any TLS version (downgrade method)\n");
  std::fprintf(stderr,
               "  -l <str>     cipher list\n"
               "  -c <file>    certificate (default %s/%s)\n"
               "  -k <file>    private key (default %s/%s)\n"
               "  -A <file>    CA certificate for the peer (default %s/ca-cert.pem)\n",
               certs.c_str(), server ? "server-rsa-cert.pem" : "client-cert.pem", certs.c_str(),
               server ? "server-rsa-key.pem" : "client-key.pem", certs.c_str());
  if (!server) std::fprintf(stderr, "  -r           resume sessions\n");
  std::fprintf(stderr,
               "  -n <num>     connections (default 100%s)\n"
               "  -N <num>     concurrent connections%s (default 15)\n"
               "  -R <num>     bytes per read (default 16384)\n"
               "  -W <num>     bytes per write (default 16384)\n"
               "  -B <num>     byte budget instead of a connection count\n",
               server ? "; 0 = until SIGINT/SIGTERM" : "", server ? " per thread" : "");
  if (server) std::fprintf(stderr, "  -t <num>     event-loop threads (default 1)\n");
  std::fprintf(stderr,
               "  -d <spec>    async device: sim, sim:skip=N, threads, threads:workers=N,...\n"
               "               or none (synchronous); default $ASYNCCRYPT_DEVICE, else sim\n"
               "  -q           do not print the cipher suite line\n"
               "  --groups <list>  key-exchange groups, colon-separated, preferred first\n"
               "               (the client's key share): %s\n"
               "  --json       also print one JSON object with the results on stdout\n"
               "  --http       %s\n"
               "  --no-client-cert  %s\n",
               group_names().c_str(),
               server ? "answer each request with an HTTP/1.1 response, then close"
                      : "send an HTTP/1.0 GET and read the reply until the server closes",
               server ? "do not ask for a client certificate" : "do not send a client certificate");
  std::fprintf(stderr,
               "  --handshake-timeout <ms>  close a connection whose handshake has not\n"
               "               finished this long after its TCP start (default 10000; 0 = never)\n"
               "  --idle-timeout <ms>  close a connection that reads or writes nothing for\n"
               "               this long after its handshake (default 30000; 0 = never)\n"
               "  --drain-timeout <ms>  at exit, wait this long for crypto in flight before\n"
               "               freeing its connections (each free still waits for an\n"
               "               operation running on a worker; default 10000)\n");
  if (!server) {
    std::fprintf(stderr,
                 "  --abort-handshake <K>  test aid: abort each connection after 1..K\n"
                 "               handshake steps (cycling), by reset or by close\n"
                 "  --abort-percent <P>  with --abort-handshake: only P%% of the connections\n"
                 "               abort, chosen at random, each after a random 1..K steps\n"
                 "               (default 100: every connection, cycling)\n"
                 "  --seed <S>   seed of --abort-percent's choices (default: from the clock;\n"
                 "               printed on stderr)\n");
  } else {
    std::fprintf(stderr,
                 "  --free-pending-now  test aid: free a connection whose peer hung up\n"
                 "               while its crypto is in flight at once (asynccrypt cancels\n"
                 "               it; a worker's running operation is drained first)\n"
                 "               instead of after the operation\n"
                 "  --key-device <spec>  the private key is in a PKCS#11 token: a pkcs11\n"
                 "               device spec (pkcs11:module=PATH,token=LABEL,pin-file=PATH,...)\n"
                 "  --key-id <hex>, --key-label <label>  the key on that token (-c still\n"
                 "               names the certificate)\n"
                 "  --key-pkcs11-sync  sign with --key-device's module, token and PIN\n"
                 "               through wolfSSL's own synchronous PKCS#11 code instead of\n"
                 "               the pkcs11 device (wolfSSL with --enable-pkcs11; -t 1)\n"
                 "  --busy-poll  spin like the original's perf server and wolfSSL's examples:\n"
                 "               epoll_wait with no timeout, then wolfSSL_CTX_AsyncPoll, again\n"
                 "               and again, instead of sleeping on the queue's fd\n");
  }
  std::fprintf(stderr,
               "Certificates: scripts/gen-certs.sh DIR writes them; the tools look in\n"
               "$ASYNCCRYPT_CERTS, else certs/ beside the executable, ./certs, ./build/certs%s%s\n",
               found.empty() ? " (none found)" : "; using ", found.c_str());
}

}  // namespace

int parse_options(Tool tool, int argc, char** argv, PerfOptions* out) {
  const bool server = tool == Tool::kServer;
  const char* short_opts = server ? "hp:v:al:c:k:A:n:N:R:W:B:t:d:q" : "hp:v:l:c:k:A:rn:N:R:W:B:d:q";
  static const option kLong[] = {
      {"json", no_argument, nullptr, kJson},
      {"http", no_argument, nullptr, kHttp},
      {"no-client-cert", no_argument, nullptr, kNoClientCert},
      {"abort-handshake", required_argument, nullptr, kAbortHandshake},
      {"abort-percent", required_argument, nullptr, kAbortPercent},
      {"seed", required_argument, nullptr, kSeed},
      {"free-pending-now", no_argument, nullptr, kFreePendingNow},
      {"groups", required_argument, nullptr, kGroups},
      {"handshake-timeout", required_argument, nullptr, kHandshakeTimeout},
      {"idle-timeout", required_argument, nullptr, kIdleTimeout},
      {"drain-timeout", required_argument, nullptr, kDrainTimeout},
      {"key-device", required_argument, nullptr, kKeyDevice},
      {"key-id", required_argument, nullptr, kKeyId},
      {"key-label", required_argument, nullptr, kKeyLabel},
      {"key-pkcs11-sync", no_argument, nullptr, kKeyPkcs11Sync},
      {"busy-poll", no_argument, nullptr, kBusyPoll},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  // -? is not in the short options, so getopt reports it as unknown with
  // optopt '?', and every other mistake (an unknown long option: optopt 0)
  // is told apart from it. optind 0 restarts getopt's scan, so that a
  // second parse in one process starts clean.
  optind = 0;
  opterr = 0;
  int c;
  long long v = 0;
  std::string why;  // what was wrong with the value, from to_number
  // to_number reads optarg as a whole decimal number within [lo, hi] into v.
  auto to_number = [&](long long lo, long long hi) {
    const cli::Parsed<long long> parsed = cli::parse_integer(optarg, lo, hi);
    v = parsed.value;
    why = parsed.error;
    return parsed.ok();
  };
  auto bad = [&](const char* what) {
    std::fprintf(stderr, "asynccrypt %s: bad %s%s%s\n", argv[0], what, why.empty() ? "" : ": ",
                 why.c_str());
    print_usage(tool);
    return 2;
  };
  while ((c = getopt_long(argc, argv, short_opts, kLong, nullptr)) != -1) {
    why.clear();
    switch (c) {
      case '?':
        if (optopt != '?') return bad("option");
        print_usage(tool);
        return 1;
      case 'h':
        print_usage(tool);
        return 1;
      case 'p':
        if (!to_number(server ? 0 : 1, 65535)) return bad("port (-p)");
        out->port = static_cast<int>(v);
        break;
      case 'v':
        if (!to_number(0, 4)) return bad("version (-v 0..4)");
        out->version = static_cast<int>(v);
        break;
      case 'a':
        out->any_version = true;
        break;
      case 'l':
        out->cipher_list = optarg;
        break;
      case 'c':
        out->cert = optarg;
        break;
      case 'k':
        out->key = optarg;
        break;
      case 'A':
        out->ca = optarg;
        break;
      case 'r':
        out->resume = true;
        break;
      case 'n':
        if (!to_number(0, 1000000)) return bad("connection count (-n 0..1000000)");
        out->max_conns = static_cast<long>(v);
        out->max_bytes = -1;
        break;
      case 'N':
        if (!to_number(1, 100000)) return bad("concurrency (-N 1..100000)");
        out->concurrent = static_cast<int>(v);
        break;
      case 'R':
        if (!to_number(1, INT_MAX / 2)) return bad("read size (-R)");
        out->read_size = static_cast<int>(v);
        break;
      case 'W':
        if (!to_number(1, INT_MAX / 2)) return bad("write size (-W)");
        out->write_size = static_cast<int>(v);
        break;
      case 'B':
        if (!to_number(1, LLONG_MAX / 4)) return bad("byte budget (-B)");
        out->max_bytes = v;
        out->max_conns = 0;
        break;
      case 't':
        if (!to_number(1, 100)) return bad("thread count (-t 1..100)");
        out->threads = static_cast<int>(v);
        break;
      case 'd':
        out->device = optarg;
        break;
      case 'q':
        out->quiet = true;
        break;
      case kJson:
        out->json = true;
        break;
      case kHttp:
        out->http = true;
        break;
      case kNoClientCert:
        out->client_cert = false;
        break;
      case kAbortHandshake:
        if (!to_number(1, 100)) return bad("--abort-handshake (1..100)");
        out->abort_handshake = static_cast<int>(v);
        break;
      case kAbortPercent:
        if (server || !to_number(0, 100)) return bad("--abort-percent (0..100)");
        out->abort_percent = static_cast<int>(v);
        break;
      case kSeed:
        if (server || !to_number(1, LLONG_MAX)) return bad("--seed (1..)");
        out->seed = static_cast<unsigned long long>(v);
        break;
      case kFreePendingNow:
        if (!server) return bad("option");
        out->free_pending_now = true;
        break;
      case kGroups:
        if (!parse_groups(optarg, &out->groups)) return bad("--groups (see the list)");
        break;
      case kHandshakeTimeout:
        if (!to_number(0, kMaxTimeoutMs)) return bad("--handshake-timeout (0..86400000 ms)");
        out->handshake_timeout_ms = static_cast<int>(v);
        break;
      case kIdleTimeout:
        if (!to_number(0, kMaxTimeoutMs)) return bad("--idle-timeout (0..86400000 ms)");
        out->idle_timeout_ms = static_cast<int>(v);
        break;
      case kDrainTimeout:
        if (!to_number(0, kMaxTimeoutMs)) return bad("--drain-timeout (0..86400000 ms)");
        out->drain_timeout_ms = static_cast<int>(v);
        break;
      case kKeyDevice:
        out->key_device = optarg;
        break;
      case kKeyId:
        if (!hex_bytes(optarg, &out->key_id)) return bad("--key-id (hex digits, an even number)");
        break;
      case kKeyLabel:
        out->key_label = optarg;
        break;
      case kKeyPkcs11Sync:
        out->key_pkcs11_sync = true;
        break;
      case kBusyPoll:
        if (!server) return bad("option (--busy-poll is the server's)");
        out->busy_poll = true;
        break;
      default:
        return bad("option");
    }
  }
  if (optind != argc) return bad("argument");
  const bool key_named = !out->key_id.empty() || !out->key_label.empty();
  if (!out->key_device.empty() || key_named) {
    if (!server) return bad("option (--key-device is the server's)");
    if (out->key_device.empty()) return bad("--key-id/--key-label without --key-device");
    if (out->key_id.empty() == out->key_label.empty()) {
      return bad("--key-device (give exactly one of --key-id and --key-label)");
    }
  }
  if (out->key_pkcs11_sync) {
    if (!server) return bad("option (--key-pkcs11-sync is the server's)");
    if (out->key_device.empty()) return bad("--key-pkcs11-sync without --key-device");
    // wolfSSL's PKCS#11 code shares one session, which one thread may use.
    if (out->threads != 1) return bad("--key-pkcs11-sync with -t other than 1");
  }
  if (!version_supported(out->version)) {
    std::fprintf(stderr, "asynccrypt %s: -v %d is not built in; use 3 (TLS 1.2) or 4 (TLS 1.3)\n",
                 argv[0], out->version);
    return 2;
  }
  // Only the files this run loads need a default: its own certificate and
  // key (the server's always, the client's for mutual authentication) and
  // the CA that verifies the peer (the client always, the server when it
  // asks for a client certificate).
  const bool need_own = server || out->client_cert;
  const bool need_ca = !server || out->client_cert;
  const bool need_default =
      (need_own && (out->cert.empty() || (out->key.empty() && out->key_device.empty()))) ||
      (need_ca && out->ca.empty());
  if (!need_default) return 0;
  const std::string certs = default_cert_dir();
  if (certs.empty()) {
    std::fprintf(stderr, "asynccrypt %s: no certificate directory found: %s\n", argv[0],
                 cert_dir_help().c_str());
    return 2;
  }
  const std::string dir = certs + "/";
  if (out->cert.empty()) out->cert = dir + (server ? "server-rsa-cert.pem" : "client-cert.pem");
  if (out->key.empty()) out->key = dir + (server ? "server-rsa-key.pem" : "client-key.pem");
  if (out->ca.empty()) out->ca = dir + "ca-cert.pem";
  return 0;
}

}  // namespace perf
