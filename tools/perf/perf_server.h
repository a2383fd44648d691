// perf-server: the TLS benchmark server (see perf_server.cc).
#pragma once

namespace perf {

// run_perf_server runs `asynccrypt perf-server`; argv[0] is the subcommand.
// Returns the process exit status.
int run_perf_server(int argc, char** argv);

}  // namespace perf
