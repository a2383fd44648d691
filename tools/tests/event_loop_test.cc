// Tests of tools/perf/event_loop.h: what it attaches, timeout sweeps and
// deadlines, and the exit drain's bounds. No peer: the loops with peers
// are exercised by perf_test.sh.
#include "perf/event_loop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

#include "asynccrypt/wolfssl_handles.h"

namespace {

using perf::Clock;
using perf::EventLoop;
using perf::LoopSetup;
using std::chrono::milliseconds;

// A server context from wolfSSL's test certificates.
perf::TlsConfig server_config() {
  const std::string dir = ASYNCCRYPT_WOLFSSL_CERTS_DIR;
  perf::TlsConfig cfg;
  cfg.server = true;
  cfg.files = {dir + "/server-cert.pem", dir + "/server-key.pem", dir + "/ca-cert.pem"};
  cfg.client_cert = false;
  return cfg;
}

class EventLoopTest : public testing::Test {
 protected:
  void SetUp() override {
    auto library = asynccrypt::WolfSslLibrary::init();
    ASSERT_TRUE(library);
    library_ = std::move(*library);
  }
  asynccrypt::WolfSslLibrary library_;
};

TEST_F(EventLoopTest, WithoutTimeoutsThereAreNoSweepsOrDeadlines) {
  EventLoop loop;
  LoopSetup setup;
  setup.device = "none";
  std::string error;
  ASSERT_TRUE(loop.open(setup, server_config(), &error)) << error;
  EXPECT_NE(loop.ctx(), nullptr);
  EXPECT_FALSE(loop.attached());  // synchronous: no queue to sleep on
  EXPECT_EQ(loop.device_name(), "none");
  const auto now = Clock::now();
  EXPECT_FALSE(loop.sweep_due(now));
  EXPECT_EQ(loop.next_sweep(), Clock::time_point::max());
  EXPECT_EQ(loop.handshake_deadline(now), Clock::time_point::max());
  EXPECT_EQ(loop.idle_deadline(), Clock::time_point::max());
  long long ops = 0, inline_ops = 0;
  loop.close(&ops, &inline_ops);
  EXPECT_EQ(ops, 0);
}

// A sweep every eighth of the shortest timeout (here 80 ms: every 10 ms).
TEST_F(EventLoopTest, SweepsEveryEighthOfTheShortestTimeout) {
  EventLoop loop;
  LoopSetup setup;
  setup.device = "none";
  setup.handshake_timeout_ms = 1000;
  setup.idle_timeout_ms = 80;
  std::string error;
  ASSERT_TRUE(loop.open(setup, server_config(), &error)) << error;
  const auto now = Clock::now();
  EXPECT_TRUE(loop.sweep_due(now));  // the first is due at once
  EXPECT_EQ(loop.next_sweep(), now + milliseconds(10));
  EXPECT_FALSE(loop.sweep_due(now + milliseconds(9)));
  EXPECT_TRUE(loop.sweep_due(now + milliseconds(10)));
  EXPECT_EQ(loop.handshake_deadline(now), now + milliseconds(1000));
  const auto idle = loop.idle_deadline();
  EXPECT_GE(idle, now + milliseconds(80));
  EXPECT_LE(idle, Clock::now() + milliseconds(80));
}

TEST_F(EventLoopTest, TheTickStaysWithin5And250Ms) {
  for (const auto& [timeout, tick] : {std::pair{16, 5}, std::pair{100000, 250}}) {
    EventLoop loop;
    LoopSetup setup;
    setup.device = "none";
    setup.idle_timeout_ms = timeout;
    std::string error;
    ASSERT_TRUE(loop.open(setup, server_config(), &error)) << error;
    const auto now = Clock::now();
    ASSERT_TRUE(loop.sweep_due(now));
    EXPECT_EQ(loop.next_sweep(), now + milliseconds(tick)) << timeout;
  }
}

TEST_F(EventLoopTest, AttachesTheQueueForADeviceOrWhenAsked) {
  std::string error;
  EventLoop sim;
  LoopSetup setup;
  setup.device = "sim";
  ASSERT_TRUE(sim.open(setup, server_config(), &error)) << error;
  EXPECT_TRUE(sim.attached());
  EXPECT_EQ(sim.device_name(), "sim");
  EventLoop token;  // no device, but a key whose operations complete there
  setup.device = "none";
  setup.attach_always = true;
  setup.watch_queue = false;
  ASSERT_TRUE(token.open(setup, server_config(), &error)) << error;
  EXPECT_TRUE(token.attached());
  int tag = 0;
  EXPECT_FALSE(token.is_queue(&tag));
  long long ops = 0, inline_ops = 0;
  sim.close(&ops, &inline_ops);
  token.close(&ops, &inline_ops);
}

TEST_F(EventLoopTest, OpenFailsOnABadDevice) {
  EventLoop loop;
  LoopSetup setup;
  setup.device = "no-such-kind";
  std::string error;
  EXPECT_FALSE(loop.open(setup, server_config(), &error));
  EXPECT_FALSE(error.empty());
}

TEST_F(EventLoopTest, DrainStopsWhenSettledOrAtItsTimeout) {
  EventLoop loop;
  LoopSetup setup;
  setup.device = "sim";
  std::string error;
  ASSERT_TRUE(loop.open(setup, server_config(), &error)) << error;
  double poll_s = 0;
  int rounds = 0;
  auto never = [](WOLFSSL*) { ADD_FAILURE() << "no operation was in flight"; };
  loop.drain(
      10000, 100, [&] { return ++rounds < 3; }, never, &poll_s);
  EXPECT_EQ(rounds, 3);  // settled on the third round, long before the timeout
  // Something that never settles: the drain gives up after its timeout.
  const auto t0 = Clock::now();
  loop.drain(
      50, 10, [] { return true; }, never, &poll_s);
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, milliseconds(50));
  EXPECT_LT(waited, milliseconds(5000));
  long long ops = 0, inline_ops = 0;
  loop.close(&ops, &inline_ops);
}

}  // namespace
