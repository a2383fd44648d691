// The command line of `asynccrypt bench`: its options, their defaults, the
// usage text, and parsing (getopt_long and tools/common/numbers.h).
#pragma once

#include <string>
#include <vector>

namespace asynccrypt::bench {

// Options are the settings of one run, defaults filled in.
struct Options {
  std::vector<std::string> families;
  std::vector<std::string> devices{"sim", "threads", "dpdk"};
  int workers = 0;
  std::vector<int> depths{1, 64};
  std::vector<int> sizes;  // symmetric rows' buffer sizes; empty: the default
  double duration = 1.0;
  int repeat = 1;
  bool json = false;
  bool sw = true;
  bool hw = true;
};

// usage is the text of --help, also printed after a usage error.
const char* usage();

// parse_options fills *o from argv[1..] (getopt_long, as the perf tools
// do: "--opt value" and "--opt=value", unambiguous prefixes). Returns "" or
// a usage error to print; sets *help for --help, -h or -? and stops there,
// and stops at the first error too (so "--bogus --help" is an error).
std::string parse_options(int argc, char** argv, Options* o, bool* help);

}  // namespace asynccrypt::bench
