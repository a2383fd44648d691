// Unit tests of src/backends/sim/sim_device.cc: the simulator and its skip=N delay.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backends/sim/sim_device.h"
#include "core/device_spec.h"
#include "core/op.h"

namespace {

using asynccrypt::Op;
using asynccrypt::SimDevice;

constexpr word32 kGcmSz = 2 * WC_ASYNC_THRESH_AES_GCM;
constexpr word32 kIvSz = 12;
constexpr word32 kTagSz = 16;

// An AES-GCM encryption recorded (pending) on its own object.
struct Recorded {
  explicit Recorded(int dev_id) {
    EXPECT_EQ(wc_AesInit(&aes, nullptr, dev_id), 0);
    EXPECT_EQ(wc_AesGcmSetKey(&aes, key, sizeof key), 0);
    EXPECT_EQ(start(), WC_PENDING_E);
  }
  ~Recorded() { wc_AesFree(&aes); }
  Recorded(const Recorded&) = delete;
  Recorded& operator=(const Recorded&) = delete;

  int start() {
    return wc_AesGcmEncrypt(&aes, out, in, kGcmSz, iv, kIvSz, tag, kTagSz, nullptr, 0);
  }
  bool recorded() const { return aes.asyncDev.sw.type != ASYNC_SW_NONE; }

  Aes aes;
  byte key[16] = {1, 2, 3};
  byte iv[kIvSz] = {4};
  byte in[kGcmSz] = {5};
  byte out[kGcmSz] = {};
  byte tag[kTagSz] = {};
};

std::shared_ptr<asynccrypt::Device> create(const char* text) {
  auto spec = asynccrypt::parse_device_spec(text);
  EXPECT_TRUE(spec.is_ok());
  auto device = SimDevice::create(spec.take());
  EXPECT_TRUE(device.is_ok()) << text << ": " << device.status().message();
  return device.is_ok() ? device.take() : nullptr;
}

int skip_of(const std::shared_ptr<asynccrypt::Device>& device) {
  return static_cast<const SimDevice&>(*device).skip();
}

TEST(SimDeviceCreate, Options) {
  auto device = create("sim:skip=5");
  ASSERT_NE(device, nullptr);
  EXPECT_STREQ(device->kind(), "sim");
  EXPECT_TRUE(device->runs_on_poll());
  EXPECT_EQ(skip_of(device), 5);
  EXPECT_EQ(skip_of(create("sim:skip=0")), 0);
  EXPECT_EQ(skip_of(create("sim:skip=2")), 2);
  EXPECT_EQ(skip_of(create("sim:skip=1048576")), 1 << 20);
}

TEST(SimDeviceCreate, DefaultSkipComesFromTheBuild) {
#ifdef WOLF_ASYNC_SW_SKIP_MOD
  EXPECT_EQ(SimDevice::default_skip(), WOLF_ASYNC_SW_SKIP_MOD);
#else
  EXPECT_EQ(SimDevice::default_skip(), 0);
#endif
  EXPECT_EQ(skip_of(create("sim")), SimDevice::default_skip());
}

TEST(SimDeviceCreate, BadOptionsFail) {
  for (const char* text : {"sim:skip=-1", "sim:skip=abc", "sim:skip=", "sim:skip=1048577",
                           "sim:skip=1", "sim:workers=2", "sim:skip=2,extra=1"}) {
    auto spec = asynccrypt::parse_device_spec(text);
    ASSERT_TRUE(spec.is_ok()) << text;
    auto device = SimDevice::create(spec.take());
    EXPECT_FALSE(device.is_ok()) << text;
    EXPECT_EQ(device.status().code(), BAD_FUNC_ARG) << text;
    EXPECT_FALSE(device.status().message().empty()) << text;
  }
}

TEST(SimDeviceCreate, SkipOneIsRefusedThroughTheCApi) {
  int id = 0;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "sim:skip=1", nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(id, INVALID_DEVID);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("skip"), std::string::npos);
}

// The context of one visit: the device under test shares nothing between
// polls in these tests (AES is not sliced), so one sequence serves.
asynccrypt::PollContext visit_of(int visit) { return asynccrypt::PollContext{1, visit}; }

// A sink for devices that must never report (poll-driven ones).
class NoReports final : public asynccrypt::CompletionSink {
 public:
  void on_complete(Op* /*op*/, bool /*busy*/) override { ADD_FAILURE() << "a polled op reported"; }
};

TEST(SimDeviceSubmit, EveryOperationCompletesInPolls) {
  SimDevice device(0);
  NoReports sink;
  Recorded rec(0);
  Op op;
  op.dev = &rec.aes.asyncDev;
  EXPECT_EQ(device.submit(&op, sink), asynccrypt::Admission::kPolled);
  EXPECT_TRUE(rec.recorded());  // submitting ran nothing
  EXPECT_TRUE(device.poll(&op, visit_of(1)));
  EXPECT_EQ(op.result, 0);
}

TEST(SimDeviceDrive, EveryNthVisitStaysPending) {
  SimDevice device(3);
  std::vector<std::unique_ptr<Recorded>> recs;
  std::vector<Op> ops(6);
  for (int i = 0; i < 6; ++i) {
    recs.push_back(std::make_unique<Recorded>(0));
    ops[static_cast<std::size_t>(i)].dev = &recs.back()->aes.asyncDev;
  }
  for (int visit = 1; visit <= 6; ++visit) {
    Op& op = ops[static_cast<std::size_t>(visit - 1)];
    const bool finished = device.poll(&op, visit_of(visit));
    EXPECT_EQ(finished, visit % 3 != 0) << visit;
    EXPECT_EQ(recs[static_cast<std::size_t>(visit - 1)]->recorded(), !finished) << visit;
    if (finished) {
      EXPECT_EQ(op.result, 0);
    }
  }
  // A delayed operation runs on its next visit that is not a multiple of 3.
  EXPECT_TRUE(device.poll(&ops[2], visit_of(1)));
  EXPECT_EQ(ops[2].result, 0);
  EXPECT_FALSE(recs[2]->recorded());
}

TEST(SimDeviceDrive, SkipZeroNeverDelays) {
  SimDevice device(0);
  for (int visit : {0, 1, 2, 3, 4, 100}) {
    Recorded rec(0);
    Op op;
    op.dev = &rec.aes.asyncDev;
    EXPECT_TRUE(device.poll(&op, visit_of(visit))) << visit;
    EXPECT_EQ(op.result, 0);
  }
}

TEST(SimDeviceDrive, SingleEventPollsAreDelayedToo) {
  SimDevice device(2);
  Recorded a(0);
  Recorded b(0);
  Op op_a;
  Op op_b;
  op_a.dev = &a.aes.asyncDev;
  op_b.dev = &b.aes.asyncDev;
  EXPECT_TRUE(device.poll(&op_a, visit_of(0)));   // single poll #1
  EXPECT_FALSE(device.poll(&op_b, visit_of(0)));  // #2: delayed
  EXPECT_TRUE(b.recorded());
  EXPECT_TRUE(device.poll(&op_b, visit_of(0)));  // #3
  EXPECT_EQ(op_b.result, 0);
}

TEST(SimDeviceDrive, NothingRecordedIsAFailedOperation) {
  SimDevice device(0);
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, 0), 0);
  Op op;
  op.dev = &dev;
  EXPECT_TRUE(device.poll(&op, visit_of(1)));
  EXPECT_EQ(op.result, BAD_FUNC_ARG);
}

// Through the C API: a queue poll leaves every Nth visited event pending.
class SimQueueTest : public ::testing::Test {
 protected:
  void open(const char* spec) {
    ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id_, spec, nullptr), 0);
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    opened_ = true;
  }
  void TearDown() override {
    recs_.clear();
    if (opened_) {
      EXPECT_EQ(queue_.count, 0);
      EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
      wolfEventQueue_Free(&queue_);
    }
    wolfAsync_DevClose(&dev_id_);
  }
  void submit(int n) {
    for (int i = 0; i < n; ++i) {
      recs_.push_back(std::make_unique<Recorded>(dev_id_));
      ASSERT_EQ(wc_AsyncHandle(&recs_.back()->aes.asyncDev, &queue_, WC_ASYNC_FLAG_NONE), 0);
    }
  }
  std::set<WOLF_EVENT*> poll(int max_events, void* filter = nullptr) {
    std::vector<WOLF_EVENT*> events(static_cast<std::size_t>(max_events));
    int n = -1;
    EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, filter, events.data(), max_events,
                                       WOLF_POLL_FLAG_CHECK_HW, &n),
              0);
    return {events.begin(), events.begin() + (n > 0 ? n : 0)};
  }
  WOLF_EVENT* event(std::size_t i) { return &recs_[i]->aes.asyncDev.event; }

  bool opened_ = false;
  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_;
  std::vector<std::unique_ptr<Recorded>> recs_;
};

TEST_F(SimQueueTest, EveryThirdVisitedEventStaysPending) {
  open("sim:skip=3");
  submit(7);
  auto first = poll(16);
  EXPECT_EQ(first.size(), 5u);
  EXPECT_EQ(first.count(event(2)), 0u);  // visit 3
  EXPECT_EQ(first.count(event(5)), 0u);  // visit 6
  EXPECT_EQ(event(2)->state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(queue_.count, 2);
  // The count restarts with each poll: the two left are visits 1 and 2.
  auto second = poll(16);
  EXPECT_EQ(second.size(), 2u);
  EXPECT_EQ(second.count(event(2)), 1u);
  EXPECT_EQ(second.count(event(5)), 1u);
  EXPECT_EQ(queue_.count, 0);
}

TEST_F(SimQueueTest, SkipCountsOnlyEventsThatMatchTheFilter) {
  open("sim:skip=2");
  submit(3);
  // Only event 1 is visited, as visit 1: it finishes.
  auto got = poll(4, &recs_[1]->aes.asyncDev);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count(event(1)), 1u);
  // Events 0 and 2 are visits 1 and 2: the second stays.
  got = poll(4);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count(event(0)), 1u);
  got = poll(4);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count(event(2)), 1u);
}

TEST_F(SimQueueTest, SkipZeroFinishesEverythingInOnePoll) {
  open("sim:skip=0");
  submit(9);
  EXPECT_EQ(poll(16).size(), 9u);
}

TEST_F(SimQueueTest, WaitFinishesDespiteTheDelay) {
  open("sim:skip=2");
  for (int i = 0; i < 4; ++i) {
    Recorded rec(dev_id_);
    EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, &rec.aes.asyncDev, WC_ASYNC_FLAG_NONE), 0);
    EXPECT_FALSE(rec.recorded());
  }
}

}  // namespace
