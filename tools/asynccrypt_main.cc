// asynccrypt: the command-line tool. `asynccrypt SUBCOMMAND [options]`
// dispatches to a subcommand; each has its own -h.
#include <cstdio>
#include <string_view>

#include "bench/bench_main.h"
#include "perf/perf_client.h"
#include "perf/perf_server.h"

namespace {

struct Subcommand {
  std::string_view name;
  int (*run)(int argc, char** argv);
  std::string_view summary;
};

constexpr Subcommand kSubcommands[] = {
    {"perf-server", perf::run_perf_server,
     "non-blocking epoll TLS benchmark server (server-tls-epoll-perf flags)"},
    {"perf-client", perf::run_perf_client,
     "non-blocking TLS benchmark client (client-tls-perf flags)"},
    {"bench", bench_main, "wolfCrypt ops/s and latency: synchronous vs sim and threads devices"},
};

void usage() {
  std::fprintf(stderr, "usage: asynccrypt SUBCOMMAND [options]   (SUBCOMMAND -h for help)\n");
  for (const auto& sub : kSubcommands) {
    std::fprintf(stderr, "  %-12.*s %.*s\n", static_cast<int>(sub.name.size()), sub.name.data(),
                 static_cast<int>(sub.summary.size()), sub.summary.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    usage();
    return 0;
  }
  for (const auto& sub : kSubcommands) {
    if (sub.name == name) return sub.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "asynccrypt: unknown subcommand '%s'\n", argv[1]);
  usage();
  return 2;
}
