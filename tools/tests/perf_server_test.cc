// Tests of tools/perf/perf_server.cc that need no peer (the scenarios with
// peers are in perf_test.sh).
#include "perf/perf_server.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

namespace {

int run_server(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return perf::run_perf_server(static_cast<int>(args.size()), argv.data());
}

void (*handler_of(int sig))(int) {
  struct sigaction now {};
  EXPECT_EQ(sigaction(sig, nullptr, &now), 0);
  return now.sa_handler;
}

// Issue 14.13: an early return (here: the certificate cannot be loaded)
// must take back the stop signal's handlers and forget its descriptor, so
// that a later SIGTERM does what it did before instead of writing to a
// closed (perhaps reused) descriptor.
TEST(PerfServer, EarlyReturnRestoresTheStopSignal) {
  struct sigaction mine {};
  mine.sa_handler = SIG_IGN;
  sigemptyset(&mine.sa_mask);
  struct sigaction old_term {
  }, old_int{};
  ASSERT_EQ(sigaction(SIGTERM, &mine, &old_term), 0);
  ASSERT_EQ(sigaction(SIGINT, &mine, &old_int), 0);
  const int rc = run_server({"perf-server", "-p", "0", "-d", "none", "-c", "/nonexistent/cert.pem",
                             "-k", "/nonexistent/key.pem", "-A", "/nonexistent/ca.pem"});
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(handler_of(SIGTERM), SIG_IGN);
  EXPECT_EQ(handler_of(SIGINT), SIG_IGN);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
}

}  // namespace
