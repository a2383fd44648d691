// Unit tests of the extern "C" contract in src/abi/async_api.cc (async.h).
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/engine.h"
#include "core/registry.h"
#include "support/deadline.h"
#include "support/device_list.h"
#include "support/gcm_op.h"

namespace {

using testing_support::GcmOp;
using testing_support::kGcmSz;
using testing_support::kIvSz;
using testing_support::kTagSz;

// True when fd is readable right now.
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

// ContractTest runs each test on every device of the shared list that pends
// every operation (testing_support::pending_devices(); the declining threads
// device is covered by DecliningContractTest below): each test gets its own
// device and queue.
class ContractTest : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dev_id_ = dev_id();
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    queue_ready_ = true;
  }

  void TearDown() override {
    if (!queue_ready_) return;
    ops_.clear();  // frees the objects, cancelling (or draining) anything still queued
    EXPECT_EQ(queue_.count, 0);
    EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
    wolfEventQueue_Free(&queue_);
  }

  // Starts one AES-GCM operation and queues it.
  GcmOp& submit() {
    ops_.push_back(std::make_unique<GcmOp>(dev_id_, static_cast<byte>(ops_.size() + 1)));
    GcmOp& op = *ops_.back();
    EXPECT_EQ(op.init_ret, 0);
    EXPECT_EQ(op.start(), WC_PENDING_E);
    EXPECT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
    return op;
  }

  // Polls the queue once; returns the number of harvested events (or the error).
  int poll(WOLF_EVENT** events, int max_events, WOLF_EVENT_FLAG flags = WOLF_POLL_FLAG_CHECK_HW,
           void* filter = nullptr) {
    int count = -1;
    const int ret = wolfAsync_EventQueuePoll(&queue_, filter, events, max_events, flags, &count);
    return ret != 0 ? ret : count;
  }

  // Polls with WOLF_POLL_FLAG_CHECK_HW until max_events are harvested (any
  // number when events is null) or nothing is left on the queue; returns
  // how many (or the first error). On a device that completes at the first
  // poll (sim:skip=0) that is exactly one poll's result; worker devices
  // and devices that pend for several polls get the polls they need, until
  // the testing_support::Deadline.
  int harvest(WOLF_EVENT** events, int max_events) {
    const testing_support::Deadline deadline;
    int total = 0;
    while (!deadline.passed()) {
      const int want = events != nullptr ? max_events - total : max_events;
      const int n = poll(events != nullptr ? events + total : nullptr, want);
      if (n < 0) return n;
      total += n;
      if ((events != nullptr && total == max_events) || queue_.count == 0) break;
    }
    return total;
  }

  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_;
  bool queue_ready_ = false;
  std::vector<std::unique_ptr<GcmOp>> ops_;
};

INSTANTIATE_TEST_SUITE_P(Devices, ContractTest,
                         ::testing::ValuesIn(testing_support::pending_devices()),
                         testing_support::device_name);

// Some assertions describe how a kind of device completes, not the contract
// every device keeps; each suite below runs on the devices where they hold.

// InOrderContractTest: every operation finishes at the first poll with
// WOLF_POLL_FLAG_CHECK_HW, in submission order. Only the simulator without
// skips does that; chaos reorders on purpose, workers race, skips and
// cryptodev bursts spread one batch over several polls.
class InOrderContractTest : public ContractTest {};
INSTANTIATE_TEST_SUITE_P(Devices, InOrderContractTest,
                         ::testing::ValuesIn(testing_support::devices_named({"sim"})),
                         testing_support::device_name);

// PollingThreadContractTest: operations run only when a poll of the polling
// thread visits them, so a context filter also limits what runs. True of
// the simulator; a cryptodev, chaos and workers run what was submitted
// whatever the filter.
class PollingThreadContractTest : public ContractTest {};
INSTANTIATE_TEST_SUITE_P(Devices, PollingThreadContractTest,
                         ::testing::ValuesIn(testing_support::devices_named({"sim", "sim_skip3"})),
                         testing_support::device_name);

// PollDrivenContractTest: one poll with WOLF_POLL_FLAG_CHECK_HW finishes a
// single event, and the queue's fd is readable as soon as work is queued
// (the work needs a poll to progress). True of devices that compute when
// polled with no delay of their own; chaos pends at least one more poll on
// purpose, and worker devices finish in their own time and make the fd
// readable only when a completion waits.
class PollDrivenContractTest : public ContractTest {};
INSTANTIATE_TEST_SUITE_P(Devices, PollDrivenContractTest,
                         ::testing::ValuesIn(testing_support::devices_named({"sim", "sim_skip3",
                                                                             "dpdk"})),
                         testing_support::device_name);

// PollOnlyContractTest: nothing completes between two polls, and a poll
// without WOLF_POLL_FLAG_CHECK_HW completes nothing, so counts taken between
// polls are exact and an operation freed before a poll is cancelled. True of
// the poll-driven devices (simulator, chaos on its own or over dpdk, dpdk);
// a worker finishes whenever it gets to an operation.
class PollOnlyContractTest : public ContractTest {};
INSTANTIATE_TEST_SUITE_P(
    Devices, PollOnlyContractTest,
    ::testing::ValuesIn(testing_support::devices_named({"sim", "sim_skip3", "chaos", "chaos_slow",
                                                        "dpdk", "chaos_over_dpdk"})),
    testing_support::device_name);

// EveryOpContractTest: an ECC operation pends too. The dpdk device on
// crypto_aesni_mb declines it (its driver has no ECC) and wolfCrypt computes
// it at once, which the contract allows.
class EveryOpContractTest : public ContractTest {};
INSTANTIATE_TEST_SUITE_P(Devices, EveryOpContractTest,
                         ::testing::ValuesIn(testing_support::pending_devices(true)),
                         testing_support::device_name);

// DecliningContractTest runs on every device, the declining ones included:
// an operation either pends and completes correctly through the queue, or
// is computed at once, correctly, and leaves nothing queued.
class DecliningContractTest : public ContractTest {};
INSTANTIATE_TEST_SUITE_P(Devices, DecliningContractTest,
                         ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

TEST_P(DecliningContractTest, EachOperationPendsOrCompletesAtOnce) {
  constexpr int kOps = 40;
  int pended = 0;
  for (int i = 0; i < kOps; ++i) {
    ops_.push_back(std::make_unique<GcmOp>(dev_id_, static_cast<byte>(i)));
    GcmOp& op = *ops_.back();
    ASSERT_EQ(op.init_ret, 0);
    const int ret = op.start();
    if (ret == 0) {
      EXPECT_TRUE(op.correct()) << "operation " << i << " computed at once";
      continue;
    }
    ASSERT_EQ(ret, WC_PENDING_E) << "operation " << i;
    ASSERT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
    ++pended;
  }
  EXPECT_EQ(queue_.count, pended);
  EXPECT_EQ(harvest(nullptr, 0), pended);
  EXPECT_EQ(queue_.count, 0);
  for (auto& op : ops_) {
    EXPECT_TRUE(op->correct());
  }
  if (GetParam().pends != testing_support::Pends::kMaybe) {
    EXPECT_EQ(pended, kOps);
  }
}

// ---------------------------------------------------------------------------
// Hardware start/stop and devices
// ---------------------------------------------------------------------------

TEST(HardwareTest, StartStopIsCounted) {
  auto& registry = asynccrypt::Registry::instance();
  const int base = registry.hardware_count();
  EXPECT_EQ(wolfAsync_HardwareStart(), 0);
  EXPECT_EQ(wolfAsync_HardwareStart(), 0);
  EXPECT_EQ(registry.hardware_count(), base + 2);
  wolfAsync_HardwareStop();
  EXPECT_EQ(registry.hardware_count(), base + 1);
  wolfAsync_HardwareStop();
  EXPECT_EQ(registry.hardware_count(), base);
}

TEST(HardwareTest, ExtraStopIsHarmless) {
  auto& registry = asynccrypt::Registry::instance();
  while (registry.hardware_count() > 0) wolfAsync_HardwareStop();
  wolfAsync_HardwareStop();
  wolfAsync_HardwareStop();
  EXPECT_EQ(registry.hardware_count(), 0);
  EXPECT_EQ(wolfAsync_HardwareStart(), 0);
  EXPECT_EQ(registry.hardware_count(), 1);
  wolfAsync_HardwareStop();
  EXPECT_EQ(registry.hardware_count(), 0);
}

TEST(DevOpenTest, NullPointerIsBadFuncArg) {
  EXPECT_EQ(wolfAsync_DevOpen(nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(wolfAsync_DevOpenThread(nullptr, nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevOpenSpec(nullptr, "sim", nullptr), BAD_FUNC_ARG);
}

TEST(DevOpenTest, DefaultDeviceIsSharedAndCounted) {
  int a = 12345;
  int b = 0;
  ASSERT_EQ(wolfAsync_DevOpen(&a), 0);
  ASSERT_EQ(wolfAsync_DevOpen(&b), 0);
  EXPECT_GE(a, 0);
  EXPECT_EQ(a, b);
  int keep = a;
  wolfAsync_DevClose(&a);
  EXPECT_EQ(a, INVALID_DEVID);
  char kind[16];
  EXPECT_EQ(asynccrypt_DevKind(keep, kind, sizeof kind), 0);  // b still holds it
  wolfAsync_DevClose(&b);
  EXPECT_EQ(b, INVALID_DEVID);
  EXPECT_EQ(asynccrypt_DevKind(keep, kind, sizeof kind), NO_VALID_DEVID);
}

TEST(DevOpenTest, OpenThreadGivesADeviceOfItsOwn) {
  pthread_t self = pthread_self();
  int a = INVALID_DEVID;
  int b = INVALID_DEVID;
  ASSERT_EQ(wolfAsync_DevOpenThread(&a, &self), 0);
  ASSERT_EQ(wolfAsync_DevOpenThread(&b, nullptr), 0);
  EXPECT_GE(a, 0);
  EXPECT_GE(b, 0);
  EXPECT_NE(a, b);
  wolfAsync_DevClose(&a);
  wolfAsync_DevClose(&b);
}

TEST(DevOpenTest, OpenSpecSim) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "sim", nullptr), 0);
  char kind[16];
  ASSERT_EQ(asynccrypt_DevKind(id, kind, sizeof kind), 0);
  EXPECT_STREQ(kind, "sim");
  wolfAsync_DevClose(&id);
}

TEST(DevOpenTest, OpenSpecFailuresWriteInvalidDevId) {
  const char* bad_specs[] = {"",
                             "   ",
                             "nosuchkind",
                             "sim:skip=x",
                             "sim:skip=-1",
                             "sim:unknown=1",
                             "sim:skip=1,skip=2",
                             "sim:=3",
                             ":skip=2"};
  for (const char* spec : bad_specs) {
    int id = 0;
    EXPECT_EQ(asynccrypt_DevOpenSpec(&id, spec, nullptr), BAD_FUNC_ARG) << spec;
    EXPECT_EQ(id, INVALID_DEVID) << spec;
    EXPECT_STRNE(asynccrypt_LastError(), "") << spec;
  }
  int id = 0;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, nullptr, nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(id, INVALID_DEVID);
}

TEST(DevOpenTest, LastErrorNamesTheProblem) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "warpdrive:x=1", nullptr), BAD_FUNC_ARG);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("warpdrive"), std::string::npos);
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "sim:colour=red", nullptr), BAD_FUNC_ARG);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("colour"), std::string::npos);
}

TEST(DevOpenTest, LastErrorIsPerThread) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "warpdrive", nullptr), BAD_FUNC_ARG);
  std::string other;
  std::thread([&] { other = asynccrypt_LastError(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_NE(std::string(asynccrypt_LastError()), "");
}

TEST(DevCloseTest, NullInvalidAndUnknownAreNoOps) {
  wolfAsync_DevClose(nullptr);
  int id = INVALID_DEVID;
  wolfAsync_DevClose(&id);
  EXPECT_EQ(id, INVALID_DEVID);
  id = 4000;  // never handed out
  wolfAsync_DevClose(&id);
  EXPECT_EQ(id, INVALID_DEVID);
  id = -77;
  wolfAsync_DevClose(&id);
  EXPECT_EQ(id, INVALID_DEVID);
}

TEST(DevCloseTest, DoubleCloseIsHarmless) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "sim", nullptr), 0);
  int copy = id;
  wolfAsync_DevClose(&id);
  EXPECT_EQ(id, INVALID_DEVID);
  char kind[8];
  EXPECT_EQ(asynccrypt_DevKind(copy, kind, sizeof kind), NO_VALID_DEVID);
  // A stale copy of the id: the device is gone, so nothing happens.
  wolfAsync_DevClose(&copy);
  EXPECT_EQ(copy, INVALID_DEVID);
}

TEST(DevKindTest, Arguments) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "sim", nullptr), 0);
  char buf[8];
  EXPECT_EQ(asynccrypt_DevKind(id, nullptr, sizeof buf), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevKind(id, buf, 0), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevKind(INVALID_DEVID, buf, sizeof buf), NO_VALID_DEVID);
  EXPECT_EQ(asynccrypt_DevKind(4000, buf, sizeof buf), NO_VALID_DEVID);
  // A short buffer is truncated and terminated.
  std::memset(buf, 'x', sizeof buf);
  EXPECT_EQ(asynccrypt_DevKind(id, buf, 2), 0);
  EXPECT_STREQ(buf, "s");
  wolfAsync_DevClose(&id);
}

// Every device answers the same for its statistics.
class DevStatsTest : public testing_support::DeviceTest {};
INSTANTIATE_TEST_SUITE_P(Devices, DevStatsTest, ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

TEST_P(DevStatsTest, Arguments) {
  asynccrypt_DevStats stats;
  const int id = dev_id();
  EXPECT_EQ(asynccrypt_DevGetStats(id, nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevGetStats(INVALID_DEVID, &stats), NO_VALID_DEVID);
  EXPECT_EQ(asynccrypt_DevGetStats(4000, &stats), NO_VALID_DEVID);
  ASSERT_EQ(asynccrypt_DevGetStats(id, &stats), 0);
  EXPECT_EQ(stats.submitted, 0u);
  EXPECT_EQ(stats.completed, 0u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST_P(PollOnlyContractTest, StatsCountSubmissionsCompletionsAndCancels) {
  for (int i = 0; i < 3; ++i) submit();
  asynccrypt_DevStats stats;
  ASSERT_EQ(asynccrypt_DevGetStats(dev_id_, &stats), 0);
  EXPECT_EQ(stats.submitted, 3u);
  EXPECT_EQ(stats.in_flight, 3u);
  EXPECT_EQ(stats.completed, 0u);
  wc_AesFree(&ops_[2]->aes);  // cancels the third
  WOLF_EVENT* events[4];
  EXPECT_EQ(harvest(events, 4), 2);
  ASSERT_EQ(asynccrypt_DevGetStats(dev_id_, &stats), 0);
  EXPECT_EQ(stats.submitted, 3u);
  EXPECT_EQ(stats.completed, 2u);
  EXPECT_EQ(stats.cancelled, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.inline_runs, 0u);
}

TEST_P(ContractTest, ClosedDeviceStillCompletesOpsInFlight) {
  GcmOp& op = submit();
  dev_.close();
  WOLF_EVENT* events[1];
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_EQ(events[0], op.event());
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_TRUE(op.correct());
}

// ---------------------------------------------------------------------------
// DevCtxInit / DevCtxFree / DevCopy
// ---------------------------------------------------------------------------

TEST(DevCtxTest, InitNullIsBadFuncArg) {
  EXPECT_EQ(wolfAsync_DevCtxInit(nullptr, WOLFSSL_ASYNC_MARKER_AES, nullptr, 0), BAD_FUNC_ARG);
}

TEST(DevCtxTest, InitZeroesAndBinds) {
  WC_ASYNC_DEV dev;
  std::memset(&dev, 0xAB, sizeof dev);
  int heap_tag = 0;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_RSA, &heap_tag, 3), 0);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_RSA));
  EXPECT_EQ(dev.devId, 3);
  EXPECT_EQ(dev.heap, &heap_tag);
  EXPECT_EQ(dev.inflight, nullptr);
  EXPECT_EQ(dev.sw.type, ASYNC_SW_NONE);
  EXPECT_EQ(dev.event.next, nullptr);
  EXPECT_EQ(dev.event.prev, nullptr);
  EXPECT_EQ(dev.event.state, WOLF_EVENT_STATE_READY);
}

TEST(DevCtxTest, NegativeDevIdStaysSynchronous) {
  WC_ASYNC_DEV dev;
  std::memset(&dev, 0xAB, sizeof dev);
  int heap_tag = 0;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, &heap_tag, INVALID_DEVID), 0);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_INVALID));
  EXPECT_EQ(dev.devId, INVALID_DEVID);
  EXPECT_EQ(dev.heap, nullptr);
  EXPECT_EQ(dev.inflight, nullptr);

  // An AES object without a device computes at once, whatever the size.
  Aes aes;
  byte key[16] = {1};
  byte iv[kIvSz] = {2};
  byte in[kGcmSz] = {3};
  byte out[kGcmSz];
  byte tag[kTagSz];
  ASSERT_EQ(wc_AesInit(&aes, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_AesGcmSetKey(&aes, key, sizeof key), 0);
  EXPECT_EQ(wc_AesGcmEncrypt(&aes, out, in, kGcmSz, iv, kIvSz, tag, kTagSz, nullptr, 0), 0);
  wc_AesFree(&aes);
}

TEST(DevCtxTest, FreeNullMismatchAndDoubleFreeAreNoOps) {
  wolfAsync_DevCtxFree(nullptr, WOLFSSL_ASYNC_MARKER_AES);
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, 0), 0);
  wolfAsync_DevCtxFree(&dev, WOLFSSL_ASYNC_MARKER_RSA);  // wrong marker
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_AES));
  wolfAsync_DevCtxFree(&dev, WOLFSSL_ASYNC_MARKER_INVALID);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_AES));
  wolfAsync_DevCtxFree(&dev, WOLFSSL_ASYNC_MARKER_AES);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_INVALID));
  wolfAsync_DevCtxFree(&dev, WOLFSSL_ASYNC_MARKER_AES);  // double free
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_INVALID));
}

TEST_P(ContractTest, FreeUnlinksQueuedOperation) {
  GcmOp& a = submit();
  GcmOp& b = submit();
  ASSERT_EQ(queue_.count, 2);
  wolfAsync_DevCtxFree(a.dev(), WOLFSSL_ASYNC_MARKER_AES);
  EXPECT_EQ(queue_.count, 1);
  EXPECT_EQ(a.dev()->inflight, nullptr);
  EXPECT_EQ(a.dev()->sw.type, ASYNC_SW_NONE);
  WOLF_EVENT* events[4];
  EXPECT_EQ(harvest(events, 4), 1);
  EXPECT_EQ(events[0], b.event());
  EXPECT_EQ(poll(events, 4), 0);
  EXPECT_EQ(queue_.count, 0);
}

TEST_P(PollDrivenContractTest, FreeOfAnOperationAlreadyDoneButNotHarvested) {
  GcmOp& a = submit();
  // Complete it through a single-event poll; it stays queued until harvested.
  EXPECT_EQ(wolfAsync_EventPoll(a.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(a.event()->state, WOLF_EVENT_STATE_DONE);
  EXPECT_EQ(queue_.count, 1);
  wolfAsync_DevCtxFree(a.dev(), WOLFSSL_ASYNC_MARKER_AES);
  EXPECT_EQ(queue_.count, 0);
  WOLF_EVENT* events[1];
  EXPECT_EQ(poll(events, 1), 0);
}

TEST(DevCopyTest, Arguments) {
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_SHA256, nullptr, 0), 0);
  EXPECT_EQ(wolfAsync_DevCopy(nullptr, &dev), BAD_FUNC_ARG);
  EXPECT_EQ(wolfAsync_DevCopy(&dev, nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(wolfAsync_DevCopy(&dev, &dev), 0);
  EXPECT_EQ(dev.marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_SHA256));
}

TEST_P(ContractTest, CopyDoesNotShareTheOperationInFlight) {
  GcmOp& op = submit();
  // A worker writes the record while it runs the operation (wolfAsync_DevCopy's
  // safety note); the copy is made once none does, the operation unharvested.
  asynccrypt::engine::drain(op.dev());
  WC_ASYNC_DEV copy;
  std::memcpy(&copy, op.dev(), sizeof copy);
  ASSERT_EQ(wolfAsync_DevCopy(op.dev(), &copy), 0);
  EXPECT_EQ(copy.inflight, nullptr);
  EXPECT_EQ(copy.sw.type, ASYNC_SW_NONE);
  EXPECT_NE(copy.event.state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(copy.event.next, nullptr);
  EXPECT_EQ(copy.event.prev, nullptr);
  EXPECT_EQ(copy.marker, op.dev()->marker);
  // Freeing the copy leaves the original's operation alone.
  wolfAsync_DevCtxFree(&copy, WOLFSSL_ASYNC_MARKER_AES);
  EXPECT_EQ(queue_.count, 1);
  WOLF_EVENT* events[1];
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_TRUE(op.correct());
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

TEST(EventTest, InitNullIsBadFuncArg) {
  EXPECT_EQ(wolfAsync_EventInit(nullptr, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, nullptr, 0),
            BAD_FUNC_ARG);
}

TEST(EventTest, InitSetsEveryField) {
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, 0), 0);
  WOLF_EVENT sentinel;
  dev.event.next = &sentinel;  // links belong to the queue: left alone
  dev.event.prev = &sentinel;
  ASSERT_EQ(wolfAsync_EventInit(&dev.event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, &dev,
                                WC_ASYNC_FLAG_CALL_AGAIN),
            0);
  EXPECT_EQ(dev.event.type, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
  EXPECT_EQ(dev.event.context, &dev);
  EXPECT_EQ(dev.event.dev.async, &dev);
  EXPECT_TRUE(pthread_equal(dev.event.threadId, pthread_self()));
  EXPECT_EQ(dev.event.ret, WC_PENDING_E);
  EXPECT_EQ(dev.event.state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(dev.event.flags, static_cast<unsigned>(WC_ASYNC_FLAG_CALL_AGAIN));
  EXPECT_EQ(dev.event.next, &sentinel);
  EXPECT_EQ(dev.event.prev, &sentinel);
}

TEST(EventTest, InitWithoutContextHasNoDevice) {
  WOLF_EVENT event{};
  ASSERT_EQ(wolfAsync_EventInit(&event, WOLF_EVENT_TYPE_ASYNC_WOLFSSL, nullptr, 0), 0);
  EXPECT_EQ(event.dev.async, nullptr);
  EXPECT_EQ(wolfAsync_EventPoll(&event, WOLF_POLL_FLAG_CHECK_HW), WC_INIT_E);
  EXPECT_EQ(wolfAsync_EventWait(&event), WC_INIT_E);
  ASSERT_EQ(wolfAsync_EventInit(&event, WOLF_EVENT_TYPE_NONE, &event, 0), 0);
  EXPECT_EQ(event.dev.async, nullptr);
  EXPECT_EQ(wolfAsync_EventPoll(&event, 0), WC_INIT_E);
}

TEST_P(ContractTest, ReInitWhilePendingIsRefused) {
  GcmOp& op = submit();
  EXPECT_EQ(wolfAsync_EventInit(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, op.dev(), 0),
            BAD_COND_E);
  EXPECT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), BAD_COND_E);
  EXPECT_EQ(wolfAsync_EventQueuePush(&queue_, op.event()), BAD_COND_E);
  EXPECT_EQ(queue_.count, 1);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_PENDING);
  WOLF_EVENT* events[2];
  EXPECT_EQ(harvest(events, 2), 1);
  EXPECT_TRUE(op.correct());
  // Once harvested, the record can take its next operation.
  EXPECT_EQ(op.start(), WC_PENDING_E);
  EXPECT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
  EXPECT_EQ(harvest(events, 2), 1);
}

TEST(EventTest, PollAndWaitNullAreBadFuncArg) {
  EXPECT_EQ(wolfAsync_EventPoll(nullptr, WOLF_POLL_FLAG_CHECK_HW), BAD_FUNC_ARG);
  EXPECT_EQ(wolfAsync_EventWait(nullptr), BAD_FUNC_ARG);
}

TEST_P(PollDrivenContractTest, SingleEventPollNeedsCheckHw) {
  GcmOp op(dev_id_, 7);
  ASSERT_EQ(op.init_ret, 0);
  ASSERT_EQ(op.start(), WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventInit(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, op.dev(), 0), 0);
  EXPECT_EQ(wolfAsync_EventPoll(op.event(), 0), 0);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(op.event()->ret, WC_PENDING_E);
  EXPECT_EQ(wolfAsync_EventPoll(op.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_DONE);
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_EQ(op.dev()->inflight, nullptr);
  EXPECT_TRUE(op.correct());
  // Polling a finished event again changes nothing.
  EXPECT_EQ(wolfAsync_EventPoll(op.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(op.event()->ret, 0);
}

TEST_P(ContractTest, SingleEventWithNothingRecordedFails) {
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, dev_id_), 0);
  ASSERT_EQ(wolfAsync_EventInit(&dev.event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, &dev, 0), 0);
  EXPECT_EQ(wolfAsync_EventWait(&dev.event), 0);
  EXPECT_EQ(dev.event.state, WOLF_EVENT_STATE_DONE);
  EXPECT_EQ(dev.event.ret, BAD_FUNC_ARG);
}

TEST_P(ContractTest, EventWaitCompletesOneOperation) {
  GcmOp op(dev_id_, 9);
  ASSERT_EQ(op.start(), WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventInit(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, op.dev(), 0), 0);
  EXPECT_EQ(wolfAsync_EventWait(op.event()), 0);
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_DONE);
  EXPECT_TRUE(op.correct());
}

TEST(EventPopTest, Arguments) {
  EXPECT_EQ(wolfAsync_EventPop(nullptr, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), BAD_FUNC_ARG);
  WOLF_EVENT event{};
  event.type = WOLF_EVENT_TYPE_ASYNC_WOLFSSL;
  event.state = WOLF_EVENT_STATE_DONE;
  EXPECT_EQ(wolfAsync_EventPop(&event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), WC_NO_PENDING_E);
  EXPECT_EQ(wolfAsync_EventPop(&event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), WC_NO_PENDING_E);
  EXPECT_EQ(event.state, WOLF_EVENT_STATE_DONE);  // untouched
}

TEST(EventPopTest, PendingThenResultThenReady) {
  WOLF_EVENT event{};
  event.type = WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT;
  event.state = WOLF_EVENT_STATE_PENDING;
  event.ret = WC_PENDING_E;
  EXPECT_EQ(wolfAsync_EventPop(&event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), WC_PENDING_E);
  EXPECT_EQ(event.state, WOLF_EVENT_STATE_PENDING);
  event.state = WOLF_EVENT_STATE_DONE;
  event.ret = AES_GCM_AUTH_E;
  EXPECT_EQ(wolfAsync_EventPop(&event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), AES_GCM_AUTH_E);
  EXPECT_EQ(event.state, WOLF_EVENT_STATE_READY);
}

TEST_P(ContractTest, PopOfAQueuedEvent) {
  GcmOp& op = submit();
  EXPECT_EQ(wolfAsync_EventPop(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), WC_PENDING_E);
  EXPECT_EQ(wolfAsync_EventPop(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFSSL), WC_NO_PENDING_E);
  WOLF_EVENT* events[1];
  ASSERT_EQ(harvest(events, 1), 1);
  EXPECT_EQ(wolfAsync_EventPop(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), 0);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_READY);
}

// ---------------------------------------------------------------------------
// Queue push and poll
// ---------------------------------------------------------------------------

TEST_P(ContractTest, PushArguments) {
  WOLF_EVENT event{};
  EXPECT_EQ(wolfAsync_EventQueuePush(nullptr, &event), BAD_FUNC_ARG);
  EXPECT_EQ(wolfAsync_EventQueuePush(&queue_, nullptr), BAD_FUNC_ARG);
  // An event with no device record cannot be submitted.
  ASSERT_EQ(wolfAsync_EventInit(&event, WOLF_EVENT_TYPE_ASYNC_WOLFSSL, nullptr, 0), 0);
  EXPECT_EQ(wolfAsync_EventQueuePush(&queue_, &event), WC_INIT_E);
  EXPECT_EQ(queue_.count, 0);
}

TEST_P(ContractTest, HandleArguments) {
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, dev_id_), 0);
  EXPECT_EQ(wc_AsyncHandle(nullptr, &queue_, 0), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncHandle(&dev, nullptr, 0), BAD_FUNC_ARG);
  EXPECT_EQ(queue_.count, 0);
}

TEST_P(ContractTest, HandleInitialisesBeforeSubmitting) {
  GcmOp& op = submit();
  WOLF_EVENT* event = op.event();
  EXPECT_EQ(event->type, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
  EXPECT_EQ(event->context, op.dev());
  EXPECT_EQ(event->dev.async, op.dev());
  EXPECT_EQ(event->state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(event->ret, WC_PENDING_E);
  EXPECT_TRUE(pthread_equal(event->threadId, pthread_self()));
  EXPECT_EQ(queue_.head, event);
  EXPECT_EQ(queue_.tail, event);
  EXPECT_EQ(queue_.count, 1);
}

TEST_P(ContractTest, PollArguments) {
  int count = 99;
  EXPECT_EQ(wolfAsync_EventQueuePoll(nullptr, nullptr, nullptr, 0, WOLF_POLL_FLAG_CHECK_HW, &count),
            BAD_FUNC_ARG);
  EXPECT_EQ(count, 0);
  WOLF_EVENT* events[1];
  count = 99;
  EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 0, 0, &count), BAD_FUNC_ARG);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, -1, 0, &count), BAD_FUNC_ARG);
  // A queue never used is simply empty; eventCount may be NULL.
  count = 99;
  EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 1, WOLF_POLL_FLAG_CHECK_HW, &count),
            0);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 1, WOLF_POLL_FLAG_CHECK_HW, nullptr),
            0);
}

TEST_P(PollOnlyContractTest, PollWithoutCheckHwDoesNotDriveTheSimulator) {
  GcmOp& op = submit();
  WOLF_EVENT* events[1];
  EXPECT_EQ(poll(events, 1, 0), 0);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(queue_.count, 1);
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_EQ(events[0], op.event());
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_DONE);
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_EQ(op.dev()->inflight, nullptr);
  EXPECT_EQ(queue_.count, 0);
  EXPECT_EQ(queue_.head, nullptr);
  EXPECT_EQ(queue_.tail, nullptr);
  EXPECT_TRUE(op.correct());
}

TEST_P(InOrderContractTest, PollReturnsEventsInSubmissionOrder) {
  for (int i = 0; i < 4; ++i) submit();
  WOLF_EVENT* events[4];
  ASSERT_EQ(harvest(events, 4), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(events[i], ops_[static_cast<std::size_t>(i)]->event());
    EXPECT_TRUE(ops_[static_cast<std::size_t>(i)]->correct());
  }
}

TEST_P(InOrderContractTest, MaxEventsLeavesTheRestDoneForTheNextPoll) {
  for (int i = 0; i < 5; ++i) submit();
  WOLF_EVENT* events[2];
  EXPECT_EQ(harvest(events, 2), 2);
  EXPECT_EQ(events[0], ops_[0]->event());
  EXPECT_EQ(events[1], ops_[1]->event());
  EXPECT_EQ(queue_.count, 3);
  // The rest finished in the first poll: no driving needed to collect them.
  EXPECT_EQ(poll(events, 2, 0), 2);
  EXPECT_EQ(events[0], ops_[2]->event());
  EXPECT_EQ(events[1], ops_[3]->event());
  EXPECT_EQ(poll(events, 2, 0), 1);
  EXPECT_EQ(events[0], ops_[4]->event());
  EXPECT_EQ(poll(events, 2, 0), 0);
  EXPECT_EQ(queue_.count, 0);
  for (auto& op : ops_) EXPECT_TRUE(op->correct());
}

TEST_P(ContractTest, NullEventsHarvestsEverything) {
  for (int i = 0; i < 5; ++i) submit();
  EXPECT_EQ(harvest(nullptr, 0), 5);
  EXPECT_EQ(queue_.count, 0);
  for (auto& op : ops_) {
    EXPECT_EQ(op->event()->state, WOLF_EVENT_STATE_DONE);
    EXPECT_EQ(op->event()->ret, 0);
    EXPECT_TRUE(op->correct());
  }
  // maxEvents is ignored without an array.
  submit();
  EXPECT_EQ(harvest(nullptr, 1), 1);
}

TEST_P(PollingThreadContractTest, ContextFilterHarvestsOnlyThatContext) {
  GcmOp& a = submit();
  GcmOp& b = submit();
  GcmOp& c = submit();
  WOLF_EVENT* events[3];
  EXPECT_EQ(poll(events, 3, WOLF_POLL_FLAG_CHECK_HW, b.dev()), 1);
  EXPECT_EQ(events[0], b.event());
  EXPECT_EQ(queue_.count, 2);
  // The filter also limited the driving: a and c did not run.
  EXPECT_EQ(poll(events, 3, 0), 0);
  EXPECT_EQ(a.event()->state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(poll(events, 3, WOLF_POLL_FLAG_CHECK_HW, &queue_), 0);  // no such context
  EXPECT_EQ(harvest(events, 3), 2);
  EXPECT_EQ(events[0], a.event());
  EXPECT_EQ(events[1], c.event());
}

TEST_P(ContractTest, ManyEventsHarvestedInBatches) {
  constexpr int kOps = 200;
  for (int i = 0; i < kOps; ++i) submit();
  ASSERT_EQ(queue_.count, kOps);
  WOLF_EVENT* events[7];
  int total = 0;
  int polls = 0;
  while (total < kOps && polls++ < 1000) {
    const int n = harvest(events, 7);
    ASSERT_GE(n, 0);
    ASSERT_LE(n, 7);
    total += n;
    EXPECT_EQ(queue_.count, kOps - total);
  }
  EXPECT_EQ(total, kOps);
  for (auto& op : ops_) EXPECT_TRUE(op->correct());
}

TEST_P(ContractTest, ErrorResultIsDeliveredThroughTheQueue) {
  GcmOp& enc = submit();
  WOLF_EVENT* events[1];
  ASSERT_EQ(harvest(events, 1), 1);
  ASSERT_TRUE(enc.correct());
  // Decrypt with a corrupted tag on a second object.
  GcmOp dec(dev_id_, 1);
  byte plain[kGcmSz];
  enc.tag[0] ^= 1;
  ASSERT_EQ(wc_AesGcmDecrypt(&dec.aes, plain, enc.out, kGcmSz, enc.iv, kIvSz, enc.tag, kTagSz,
                             nullptr, 0),
            WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(dec.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
  ASSERT_EQ(harvest(events, 1), 1);
  EXPECT_EQ(events[0], dec.event());
  EXPECT_EQ(dec.event()->ret, AES_GCM_AUTH_E);
  EXPECT_EQ(wolfAsync_EventPop(dec.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT), AES_GCM_AUTH_E);
}

// ---------------------------------------------------------------------------
// wc_AsyncWait, wc_AsyncSwInit, wc_AsyncSleep
// ---------------------------------------------------------------------------

TEST(AsyncWaitTest, PassesThroughAnythingButPending) {
  EXPECT_EQ(wc_AsyncWait(0, nullptr, WC_ASYNC_FLAG_NONE), 0);
  EXPECT_EQ(wc_AsyncWait(5, nullptr, WC_ASYNC_FLAG_NONE), 5);
  EXPECT_EQ(wc_AsyncWait(MEMORY_E, nullptr, WC_ASYNC_FLAG_CALL_AGAIN), MEMORY_E);
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, nullptr, WC_ASYNC_FLAG_NONE), BAD_FUNC_ARG);
}

TEST_P(EveryOpContractTest, AsyncWaitCompletesAnEccKeyGeneration) {
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  ecc_key key;
  ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, dev_id_), 0);
  int ret = wc_ecc_make_key(&rng, 32, &key);
  ASSERT_EQ(ret, WC_PENDING_E);
  EXPECT_EQ(wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_NONE), 0);
  EXPECT_EQ(key.asyncDev.event.state, WOLF_EVENT_STATE_READY);
  EXPECT_EQ(key.asyncDev.inflight, nullptr);
  EXPECT_EQ(wc_ecc_check_key(&key), 0);
  wc_ecc_free(&key);
  wc_FreeRng(&rng);
}

TEST_P(ContractTest, AsyncWaitOnAQueuedOperation) {
  GcmOp& op = submit();
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  EXPECT_TRUE(op.correct());
  // Still queued until harvested; the harvest hands it back once.
  EXPECT_EQ(queue_.count, 1);
  WOLF_EVENT* events[1];
  EXPECT_EQ(poll(events, 1, 0), 1);
  EXPECT_EQ(events[0], op.event());
  EXPECT_EQ(queue_.count, 0);
}

TEST_P(ContractTest, AsyncWaitThenQueueAgainOnTheSameObject) {
  // Wait for a queued operation, harvest it, then queue the next one.
  GcmOp& op = submit();
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  WOLF_EVENT* events[1];
  ASSERT_EQ(harvest(events, 1), 1);
  op.in[0] ^= 0xFF;
  ASSERT_EQ(op.start(), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
  ASSERT_EQ(harvest(events, 1), 1);
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_TRUE(op.correct());
}

TEST(AsyncSwInitTest, RecordsOnceThenLetsTheCallerCompute) {
  EXPECT_EQ(wc_AsyncSwInit(nullptr, ASYNC_SW_AES_GCM_ENCRYPT), 0);
  WC_ASYNC_DEV dev;
  ASSERT_EQ(wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, 0), 0);
  EXPECT_EQ(wc_AsyncSwInit(&dev, ASYNC_SW_AES_GCM_ENCRYPT), 1);
  EXPECT_EQ(dev.sw.type, ASYNC_SW_AES_GCM_ENCRYPT);
  EXPECT_EQ(wc_AsyncSwInit(&dev, ASYNC_SW_AES_GCM_ENCRYPT), 0);
  EXPECT_EQ(wc_AsyncSwInit(&dev, ASYNC_SW_AES_CBC_ENCRYPT), 0);
  EXPECT_EQ(dev.sw.type, ASYNC_SW_AES_GCM_ENCRYPT);
}

TEST(AsyncSleepTest, SleepsAtLeastTheTimeAsked) {
  EXPECT_EQ(wc_AsyncSleep(0), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(wc_AsyncSleep(20), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  const auto start2 = std::chrono::steady_clock::now();
  EXPECT_EQ(wc_AsyncSleep(1001), 0);  // crosses a whole second
  EXPECT_GE(std::chrono::steady_clock::now() - start2, std::chrono::milliseconds(1001));
}

// ---------------------------------------------------------------------------
// asynccrypt_QueueFd / asynccrypt_QueueRelease
// ---------------------------------------------------------------------------

TEST(QueueFdTest, NullIsBadFuncArg) {
  EXPECT_EQ(asynccrypt_QueueFd(nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_QueueRelease(nullptr), BAD_FUNC_ARG);
}

TEST(QueueFdTest, ReleaseOfAnUnknownQueueIsFine) {
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  EXPECT_EQ(asynccrypt_QueueRelease(&queue), 0);
  EXPECT_EQ(asynccrypt_QueueRelease(&queue), 0);
  wolfEventQueue_Free(&queue);
}

TEST_P(PollDrivenContractTest, QueueFdIsStableAndReadableOnlyWithWork) {
  const int fd = asynccrypt_QueueFd(&queue_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(asynccrypt_QueueFd(&queue_), fd);
  EXPECT_FALSE(readable(fd));
  GcmOp& op = submit();
  // The simulator needs a poll to make progress, so the fd says so.
  EXPECT_TRUE(readable(fd));
  WOLF_EVENT* events[1];
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_EQ(events[0], op.event());
  EXPECT_FALSE(readable(fd));  // the poll re-armed it
  // Done but not harvested (maxEvents): stays readable until collected.
  submit();
  submit();
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_TRUE(readable(fd));
  EXPECT_EQ(poll(events, 1, 0), 1);
  EXPECT_FALSE(readable(fd));
  // The fd survives the queue going idle, until released.
  EXPECT_EQ(asynccrypt_QueueFd(&queue_), fd);
}

TEST_P(PollDrivenContractTest, QueueFdAskedForWhileWorkIsQueued) {
  submit();
  const int fd = asynccrypt_QueueFd(&queue_);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(readable(fd));
  WOLF_EVENT* events[1];
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_FALSE(readable(fd));
}

TEST_P(ContractTest, QueueReleaseRefusedWhileOperationsAreQueued) {
  ASSERT_GE(asynccrypt_QueueFd(&queue_), 0);
  GcmOp& op = submit();
  EXPECT_EQ(asynccrypt_QueueRelease(&queue_), BAD_STATE_E);
  WOLF_EVENT* events[1];
  EXPECT_EQ(harvest(events, 1), 1);
  EXPECT_TRUE(op.correct());
  EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
  // A new fd can be asked for afterwards.
  const int fd = asynccrypt_QueueFd(&queue_);
  EXPECT_GE(fd, 0);
  EXPECT_FALSE(readable(fd));
}

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

// Several threads, each with its own queue, share one device (every device
// that pends AES-GCM: the threads here count on every operation pending).
class SharedDeviceThreadsTest : public testing_support::DeviceTest {};
INSTANTIATE_TEST_SUITE_P(Devices, SharedDeviceThreadsTest,
                         ::testing::ValuesIn(testing_support::pending_devices()),
                         testing_support::device_name);

TEST_P(SharedDeviceThreadsTest, QueuesOfDifferentThreadsOnOneDevice) {
  const int dev_id = this->dev_id();
  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 24;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WOLF_EVENT_QUEUE queue;
      if (wolfEventQueue_Init(&queue) != 0) {
        ++failures;
        return;
      }
      std::vector<std::unique_ptr<GcmOp>> ops;
      for (int i = 0; i < kOpsPerThread; ++i) {
        ops.push_back(std::make_unique<GcmOp>(dev_id, static_cast<byte>(t * 50 + i)));
        if (ops.back()->start() != WC_PENDING_E ||
            wc_AsyncHandle(ops.back()->dev(), &queue, WC_ASYNC_FLAG_NONE) != 0) {
          ++failures;
        }
      }
      int harvested = 0;
      const testing_support::Deadline deadline;
      while (harvested < kOpsPerThread && !deadline.passed()) {
        WOLF_EVENT* events[5];
        int n = 0;
        if (wolfAsync_EventQueuePoll(&queue, nullptr, events, 5, WOLF_POLL_FLAG_CHECK_HW, &n) !=
            0) {
          ++failures;
        }
        for (int i = 0; i < n; ++i) {
          if (!pthread_equal(events[i]->threadId, pthread_self()) || events[i]->ret != 0) {
            ++failures;
          }
        }
        harvested += n;
      }
      if (harvested != kOpsPerThread || queue.count != 0) ++failures;
      for (auto& op : ops) {
        if (!op->correct()) ++failures;
      }
      ops.clear();
      if (asynccrypt_QueueRelease(&queue) != 0) ++failures;
      wolfEventQueue_Free(&queue);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  asynccrypt_DevStats stats;
  ASSERT_EQ(asynccrypt_DevGetStats(dev_id, &stats), 0);
  EXPECT_EQ(stats.submitted, static_cast<word64>(kThreads * kOpsPerThread));
  EXPECT_EQ(stats.completed, static_cast<word64>(kThreads * kOpsPerThread));
  EXPECT_EQ(stats.in_flight, 0u);
}

// Devices opened and closed from many threads at once.
TEST(AsyncApiThreadsTest, ConcurrentOpenAndClose) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        int id = INVALID_DEVID;
        const int ret = (t % 2 == 0) ? wolfAsync_DevOpen(&id)
                                     : asynccrypt_DevOpenSpec(&id, "sim:skip=2", nullptr);
        if (ret != 0 || id < 0) ++failures;
        char kind[8];
        if (asynccrypt_DevKind(id, kind, sizeof kind) != 0) ++failures;
        wolfAsync_DevClose(&id);
        if (id != INVALID_DEVID) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace

namespace {

// A queued operation finished by wc_AsyncWait and not yet harvested must not
// make the object's next operation look finished with the old result.
TEST_P(ContractTest, AsyncWaitTwiceOnAQueuedObjectRunsTheSecondOperation) {
  GcmOp& op = submit();
  ASSERT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  ASSERT_TRUE(op.correct());
  op.in[0] ^= 0xFF;
  std::memset(op.out, 0, sizeof op.out);
  ASSERT_EQ(op.start(), WC_PENDING_E);
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  EXPECT_TRUE(op.correct());
  // The first operation was collected by the wait: no harvest hands it back.
  EXPECT_EQ(queue_.count, 0);
  WOLF_EVENT* events[2];
  EXPECT_EQ(poll(events, 2), 0);
}

TEST_P(ContractTest, QueueAgainAfterAWaitWithoutHarvesting) {
  GcmOp& op = submit();
  ASSERT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  op.in[0] ^= 0xFF;
  std::memset(op.out, 0, sizeof op.out);
  ASSERT_EQ(op.start(), WC_PENDING_E);
  ASSERT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
  EXPECT_EQ(queue_.count, 1);
  WOLF_EVENT* events[2];
  ASSERT_EQ(harvest(events, 2), 1);
  EXPECT_EQ(events[0], op.event());
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_TRUE(op.correct());
}

TEST_P(PollDrivenContractTest, AsyncWaitAfterASingleEventPollReturnsThatResult) {
  // The event was finished by a poll; the wait must not run anything again.
  GcmOp& op = submit();
  ASSERT_EQ(wolfAsync_EventPoll(op.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
  ASSERT_EQ(op.event()->state, WOLF_EVENT_STATE_DONE);
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  EXPECT_TRUE(op.correct());
  WOLF_EVENT* events[2];
  EXPECT_EQ(harvest(events, 2), 1);
}

TEST(SslDrainTest, NullIsRejected) { EXPECT_EQ(asynccrypt_SslDrain(nullptr), BAD_FUNC_ARG); }

}  // namespace
