// perf-client: the TLS benchmark client (see perf_client.cc).
#pragma once

namespace perf {

// run_perf_client runs `asynccrypt perf-client`; argv[0] is the subcommand.
// Returns the process exit status: non-zero when the server cannot be
// reached or any handshake fails.
int run_perf_client(int argc, char** argv);

}  // namespace perf
