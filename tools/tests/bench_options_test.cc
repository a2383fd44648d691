// Tests of `asynccrypt bench`'s command line (tools/bench/bench_options.cc),
// through bench_main, which prints the errors and picks the exit code:
// usage errors exit 2 with their message, help exits 0. No case runs a
// benchmark row: each stops at the options or, --no-sw --no-hw, before rows.
#include "bench_main.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

struct Outcome {
  int rc;
  std::string out, err;
};

Outcome bench(std::vector<std::string> args) {
  args.insert(args.begin(), "bench");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int rc = bench_main(static_cast<int>(args.size()), argv.data());
  Outcome o{rc, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
  return o;
}

// The first line of a usage error (the usage text follows it).
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(BenchOptions, HelpPrintsUsageAndExitsZero) {
  for (const char* flag : {"--help", "-h", "-?", "--he"}) {
    const Outcome o = bench({flag});
    EXPECT_EQ(o.rc, 0) << flag;
    EXPECT_EQ(o.out.rfind("usage: asynccrypt bench", 0), 0u) << flag;
  }
  EXPECT_EQ(bench({"--help", "--bogus"}).rc, 0);  // parsing stops at help
  EXPECT_EQ(bench({"--bogus", "--help"}).rc, 2);  // ... and at the first error
}

TEST(BenchOptions, UsageErrorsExitTwoWithTheirMessage) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"--threads", "0"}, "--threads needs 1..1024: '0' is out of range 1..1024"},
      {{"--threads=12abc"}, "--threads needs 1..1024: '12abc' is not a whole number"},
      {{"--threads"}, "--threads needs 1..1024"},
      {{"--repeat", "101"}, "--repeat needs 1..100: '101' is out of range 1..100"},
      {{"--duration", "0"}, "--duration needs seconds in (0, 3600]: '0' is out of range (0, 3600]"},
      {{"--duration=1s"}, "--duration needs seconds in (0, 3600]: '1s' is not a decimal number"},
      {{"--duration="}, "--duration needs seconds in (0, 3600]: the value is empty"},
      {{"--duration"}, "--duration needs seconds"},
      {{"--depth", "1,x"}, "--depth values must be 1..65536: 'x' is not a whole number"},
      {{"--depth", ","}, "--depth needs at least one value"},
      {{"--depth"}, "--depth needs a list"},
      {{"--sizes", "24"}, "--sizes values must be multiples of 16 in 16..1048576"},
      {{"--sizes", "0"},
       "--sizes values must be multiples of 16 in 16..1048576: '0' is out of "
       "range 16..1048576"},
      {{"--sizes", ""}, "--sizes needs at least one value"},
      {{"--algs", "rsa9"}, "unknown algorithm family 'rsa9'"},
      {{"--algs"}, "--algs needs a list"},
      {{"--devices"}, "--devices needs a list"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"--bogus=1"}, "unknown option '--bogus=1'"},
      {{"-x"}, "unknown option '-x'"},
      {{"--json", "extra"}, "unknown option 'extra'"},
      {{"--no-sw", "--no-hw"}, "--no-sw and --no-hw leave nothing to run"},
  };
  for (const Case& c : cases) {
    const Outcome o = bench(c.args);
    const std::string what = c.args.empty() ? "" : c.args[0];
    EXPECT_EQ(o.rc, 2) << what;
    EXPECT_EQ(first_line(o.err), std::string("asynccrypt bench: ") + c.message) << what;
  }
}

}  // namespace
