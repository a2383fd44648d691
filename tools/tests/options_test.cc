// Tests of the perf tools' command line (tools/perf/options.cc): values
// taken, and bad ones refused with exit code 2 and the reason.
#include "perf/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using perf::PerfOptions;
using perf::Tool;

struct Outcome {
  int rc;
  std::string err;
  PerfOptions options;
};

Outcome parse(Tool tool, std::vector<std::string> args) {
  args.insert(args.begin(), tool == Tool::kServer ? "perf-server" : "perf-client");
  // Files named, so that no certificate directory is looked for.
  for (const char* a : {"-c", "cert.pem", "-k", "key.pem", "-A", "ca.pem"}) args.emplace_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Outcome o{};
  testing::internal::CaptureStderr();
  o.rc = perf::parse_options(tool, static_cast<int>(args.size()), argv.data(), &o.options);
  o.err = testing::internal::GetCapturedStderr();
  return o;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(PerfOptions, TakesValidNumbers) {
  const Outcome o = parse(Tool::kServer, {"-p", "0", "-t", "4", "-N", "100000", "-B", "1048576",
                                          "--idle-timeout", "86400000"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.options.port, 0);
  EXPECT_EQ(o.options.threads, 4);
  EXPECT_EQ(o.options.concurrent, 100000);
  EXPECT_EQ(o.options.max_bytes, 1048576);
  EXPECT_EQ(o.options.max_conns, 0);
  EXPECT_EQ(o.options.idle_timeout_ms, 86400000);
  const Outcome c = parse(Tool::kClient, {"--abort-handshake=3", "--abort-percent", "0", "--seed",
                                          "9223372036854775807"});
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_EQ(c.options.abort_handshake, 3);
  EXPECT_EQ(c.options.abort_percent, 0);
  EXPECT_EQ(c.options.seed, 9223372036854775807ULL);
}

TEST(PerfOptions, RefusesBadNumbersWithTheReason) {
  struct Case {
    Tool tool;
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {Tool::kServer, {"-p", "70000"}, "bad port (-p): '70000' is out of range 0..65535"},
      {Tool::kClient, {"-p", "0"}, "bad port (-p): '0' is out of range 1..65535"},
      {Tool::kServer,
       {"-t", "12abc"},
       "bad thread count (-t 1..100): '12abc' is not a whole number"},
      {Tool::kServer, {"-n", ""}, "bad connection count (-n 0..1000000): the value is empty"},
      {Tool::kClient,
       {"--seed", "0"},
       "bad --seed (1..): '0' is out of range 1..9223372036854775807"},
      {Tool::kServer, {"--seed", "5"}, "bad --seed (1..)"},  // the client's option
      {Tool::kServer,
       {"--drain-timeout", "-1"},
       "bad --drain-timeout (0..86400000 ms): '-1' is out of range 0..86400000"},
      {Tool::kServer, {"--key-id", "abc"}, "bad --key-id (hex digits, an even number)"},
      {Tool::kServer, {"extra"}, "bad argument"},
  };
  for (const Case& c : cases) {
    const Outcome o = parse(c.tool, c.args);
    EXPECT_EQ(o.rc, 2) << c.args[0];
    const std::string tool = c.tool == Tool::kServer ? "perf-server" : "perf-client";
    EXPECT_EQ(first_line(o.err), "asynccrypt " + tool + ": " + c.message) << c.args[0];
  }
}

TEST(PerfOptions, HelpIsOneAndAnUnknownOptionIsTwo) {
  for (const char* flag : {"-h", "-?", "--help"}) {
    EXPECT_EQ(parse(Tool::kServer, {flag}).rc, 1) << flag;
  }
  const Outcome unknown = parse(Tool::kClient, {"--bogus"});
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_EQ(first_line(unknown.err), "asynccrypt perf-client: bad option");
  EXPECT_EQ(parse(Tool::kClient, {"-x"}).rc, 2);
  EXPECT_EQ(parse(Tool::kClient, {"--busy-poll"}).rc, 2);
}

TEST(PerfOptions, KeyPkcs11SyncNeedsTheKeyDeviceAndOneThread) {
  const std::vector<std::string> key = {"--key-device", "pkcs11:module=m.so,token=t,pin-env=P",
                                        "--key-id", "0a"};
  std::vector<std::string> args = key;
  args.emplace_back("--key-pkcs11-sync");
  const Outcome o = parse(Tool::kServer, args);
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_TRUE(o.options.key_pkcs11_sync);
  EXPECT_FALSE(parse(Tool::kServer, key).options.key_pkcs11_sync);

  EXPECT_EQ(first_line(parse(Tool::kServer, {"--key-pkcs11-sync"}).err),
            "asynccrypt perf-server: bad --key-pkcs11-sync without --key-device");
  args.insert(args.end(), {"-t", "2"});
  EXPECT_EQ(first_line(parse(Tool::kServer, args).err),
            "asynccrypt perf-server: bad --key-pkcs11-sync with -t other than 1");
  const Outcome client = parse(Tool::kClient, {"--key-pkcs11-sync"});
  EXPECT_EQ(client.rc, 2);
  EXPECT_EQ(first_line(client.err),
            "asynccrypt perf-client: bad option (--key-pkcs11-sync is the server's)");
}

}  // namespace
