// The `asynccrypt bench` subcommand: wolfCrypt throughput and latency, synchronous and on devices.
#pragma once

// bench_main runs the benchmark; argv[0] is the subcommand's name and the
// options follow (see `asynccrypt bench --help`). Prints to stdout, errors
// to stderr. Returns 0 when every row ran and verified, 1 when a row failed,
// 2 on a usage error.
int bench_main(int argc, char** argv);
