// Misuse of the C contract (issue 14: findings 7, 8, 9 and 12): each call
// that a careless caller can make gets an error code or a defined outcome,
// never a crash, a hang, a leak or a worker writing into a reinitialised
// object.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "asynccrypt/queue.h"
#include "core/device.h"
#include "core/engine.h"
#include "core/op.h"
#include "core/registry.h"
#include "support/deadline.h"
#include "support/device_list.h"
#include "support/gcm_op.h"
#include "wolfcrypt/execute.h"

namespace {

using testing_support::GcmOp;

// Walks wolfSSL's list of a queue: every back link right, the count right.
// Returns the number of linked events.
int checked_length(WOLF_EVENT_QUEUE* queue) {
  int n = 0;
  WOLF_EVENT* prev = nullptr;
  for (WOLF_EVENT* e = queue->head; e != nullptr; e = e->next) {
    EXPECT_EQ(e->prev, prev);
    prev = e;
    if (++n > 1000) break;
  }
  EXPECT_EQ(queue->tail, prev);
  EXPECT_EQ(queue->count, n);
  return n;
}

// MisuseTest runs on every device of the shared list: its own device and
// queue per test, and helpers to queue and harvest AES-GCM operations.
class MisuseTest : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    queue_ready_ = true;
  }
  void TearDown() override {
    if (!queue_ready_) return;
    ops_.clear();  // frees the objects, cancelling anything still queued
    EXPECT_EQ(queue_.count, 0);
    EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
    wolfEventQueue_Free(&queue_);
  }

  // A new operation, started; nullptr when the device computed it at once
  // (a declining device), which these tests cannot use.
  GcmOp* start() {
    ops_.push_back(std::make_unique<GcmOp>(dev_id(), static_cast<byte>(ops_.size() + 1)));
    GcmOp& op = *ops_.back();
    EXPECT_EQ(op.init_ret, 0);
    const int ret = op.start();
    if (ret == 0) return nullptr;
    EXPECT_EQ(ret, WC_PENDING_E);
    return &op;
  }
  // A started operation queued with wc_AsyncHandle (a declining device
  // gets several tries: it pends once it has measured the operation).
  GcmOp* submit() {
    for (int tries = 0; tries < 64; ++tries) {
      GcmOp* op = start();
      if (op == nullptr) continue;
      EXPECT_EQ(wc_AsyncHandle(op->dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
      return op;
    }
    return nullptr;
  }

  // Polls until `want` events are harvested or the queue is empty; returns
  // the events harvested.
  std::vector<WOLF_EVENT*> harvest(int want) {
    std::vector<WOLF_EVENT*> got;
    const testing_support::Deadline deadline;
    while (!deadline.passed() && static_cast<int>(got.size()) < want && queue_.count > 0) {
      WOLF_EVENT* events[8];
      int n = 0;
      EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 8, WOLF_POLL_FLAG_CHECK_HW, &n),
                0);
      got.insert(got.end(), events, events + n);
    }
    return got;
  }

  // True when submit() found no operation pending on a device allowed to
  // compute every one at once (threads:inline_us= above their cost).
  bool declined(const GcmOp* op) const {
    return op == nullptr && GetParam().pends == testing_support::Pends::kMaybe;
  }

  asynccrypt_DevStats stats() {
    asynccrypt_DevStats s{};
    EXPECT_EQ(asynccrypt_DevGetStats(dev_id(), &s), 0);
    return s;
  }

  WOLF_EVENT_QUEUE queue_{};
  bool queue_ready_ = false;
  std::vector<std::unique_ptr<GcmOp>> ops_;
};

INSTANTIATE_TEST_SUITE_P(Devices, MisuseTest, ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

// ---------------------------------------------------------------------------
// Finding 7: an event that is not its record's own.
// ---------------------------------------------------------------------------

// The event of a record, but not the record's own `event` field.
void init_foreign(WOLF_EVENT* foreign, WC_ASYNC_DEV* record) {
  std::memset(foreign, 0, sizeof *foreign);
  ASSERT_EQ(wolfAsync_EventInit(foreign, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, record, 0), 0);
}

TEST_P(MisuseTest, PushOfAForeignEventIsRefused) {
  GcmOp* op = start();
  if (op == nullptr) GTEST_SKIP() << "the device computed the operation at once";
  WOLF_EVENT foreign;
  init_foreign(&foreign, op->dev());
  EXPECT_EQ(wolfAsync_EventQueuePush(&queue_, &foreign), BAD_FUNC_ARG);
  EXPECT_EQ(queue_.count, 0);
  EXPECT_EQ(op->dev()->inflight, nullptr);
  // The record's own event still goes through.
  ASSERT_EQ(wc_AsyncHandle(op->dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
  const auto got = harvest(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], op->event());
  EXPECT_TRUE(op->correct());
  EXPECT_EQ(checked_length(&queue_), 0);
}

TEST_P(MisuseTest, WaitAndPollOfAForeignEventAreRefused) {
  GcmOp* op = start();
  if (op == nullptr) GTEST_SKIP() << "the device computed the operation at once";
  WOLF_EVENT foreign;
  init_foreign(&foreign, op->dev());  // before the record's operation is queued
  ASSERT_EQ(wc_AsyncHandle(op->dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
  // Would spin for ever: the operation finishes op's own event, not this one.
  EXPECT_EQ(wolfAsync_EventWait(&foreign), BAD_FUNC_ARG);
  EXPECT_EQ(wolfAsync_EventPoll(&foreign, WOLF_POLL_FLAG_CHECK_HW), BAD_FUNC_ARG);
  EXPECT_EQ(foreign.state, WOLF_EVENT_STATE_PENDING);  // untouched
  const auto got = harvest(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], op->event());
  EXPECT_TRUE(op->correct());
}

TEST_P(MisuseTest, CopyNamesItsOwnRecord) {
  GcmOp* op = submit();
  if (declined(op)) GTEST_SKIP() << "the device declines the operation";
  ASSERT_NE(op, nullptr);
  // A worker writes the record while it runs the operation; the copy is
  // made once none does (the operation stays unharvested, in flight).
  asynccrypt::engine::drain(op->dev());
  WC_ASYNC_DEV copy;
  std::memcpy(&copy, op->dev(), sizeof copy);
  ASSERT_EQ(wolfAsync_DevCopy(op->dev(), &copy), 0);
  EXPECT_EQ(copy.event.context, &copy);
  EXPECT_EQ(copy.event.dev.async, &copy);
  // Waiting on the copy's event neither waits for nor touches the source's.
  EXPECT_EQ(wolfAsync_EventWait(&copy.event), 0);
  EXPECT_EQ(queue_.count, 1);
  const auto got = harvest(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(op->correct());
}

// ---------------------------------------------------------------------------
// Finding 8: initialising a record whose operation is in flight.
// ---------------------------------------------------------------------------

// wc_AesInit zeroes the whole Aes before wolfAsync_DevCtxInit sees it; the
// operation in flight is ended (cancelled, or waited for at a worker), its
// event unlinked, and the object works again.
TEST_P(MisuseTest, InitAgainWhileInFlightEndsTheOperation) {
  GcmOp* a = submit();
  GcmOp* b = submit();
  GcmOp* c = submit();
  if (declined(a) || declined(b) || declined(c))
    GTEST_SKIP() << "the device declines the operation";
  ASSERT_TRUE(a != nullptr && b != nullptr && c != nullptr);
  ASSERT_EQ(queue_.count, 3);
  // b, in the middle of wolfSSL's list: its links are zeroed too.
  ASSERT_EQ(wc_AesInit(&b->aes, nullptr, dev_id()), 0);
  EXPECT_EQ(b->dev()->inflight, nullptr);
  EXPECT_EQ(checked_length(&queue_), 2);
  const auto got = harvest(3);
  const std::set<WOLF_EVENT*> events(got.begin(), got.end());
  EXPECT_EQ(events, (std::set<WOLF_EVENT*>{a->event(), c->event()}));
  EXPECT_TRUE(a->correct());
  EXPECT_TRUE(c->correct());
  const asynccrypt_DevStats s = stats();
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.submitted, s.completed + s.cancelled);
  // b is a fresh object: it takes a key and runs again.
  ASSERT_EQ(wc_AesGcmSetKey(&b->aes, b->key, sizeof b->key), 0);
  const int ret = b->start();
  if (ret == WC_PENDING_E) {
    ASSERT_EQ(wc_AsyncHandle(b->dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
    ASSERT_EQ(harvest(1).size(), 1u);
  } else {
    ASSERT_EQ(ret, 0);
  }
  EXPECT_TRUE(b->correct());
}

// wolfAsync_DevCtxInit called on the record directly (nothing zeroed first).
TEST_P(MisuseTest, DevCtxInitWhileInFlightEndsTheOperation) {
  GcmOp* a = submit();
  if (declined(a)) GTEST_SKIP() << "the device declines the operation";
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(wolfAsync_DevCtxInit(a->dev(), WOLFSSL_ASYNC_MARKER_AES, nullptr, dev_id()), 0);
  EXPECT_EQ(a->dev()->inflight, nullptr);
  EXPECT_EQ(a->dev()->marker, static_cast<word32>(WOLFSSL_ASYNC_MARKER_AES));
  EXPECT_EQ(checked_length(&queue_), 0);
  EXPECT_EQ(stats().in_flight, 0u);
  EXPECT_TRUE(harvest(1).empty());
}

// ---------------------------------------------------------------------------
// Finding 12: a worker device to hold an operation at.
// ---------------------------------------------------------------------------

// A worker device whose worker, once it has taken an operation, waits at
// a gate before it runs it: a test can act while the worker holds it.
class GateDevice final : public asynccrypt::Device {
 public:
  ~GateDevice() override {
    open_gate();
    if (worker_.joinable()) worker_.join();
  }
  const char* kind() const override { return "gate"; }
  bool runs_on_poll() const override { return false; }
  asynccrypt::Admission submit(asynccrypt::Op* op, asynccrypt::CompletionSink& sink) override {
    worker_ = std::thread([this, op, &sink] {
      op->phase.store(asynccrypt::OpPhase::kRunning, std::memory_order_release);
      {
        std::unique_lock lock(mu_);
        started_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return open_; });
      }
      op->result = asynccrypt::wolfcrypt::execute_to_completion(op->dev);
      sink.on_complete(op, /*busy=*/false);
    });
    return asynccrypt::Admission::kAccepted;
  }
  bool cancel(asynccrypt::Op*) override { return false; }  // the worker holds it

  void wait_started() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return started_; });
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool open_ = false;
  std::thread worker_;
};

// A GCM operation that a GateDevice's worker has taken and holds at its
// gate, pushed to a queue of its own.
class GatedOpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto adopted = asynccrypt::Registry::instance().adopt(gate_);
    ASSERT_TRUE(adopted.is_ok());
    dev_id_ = adopted.value();
    ASSERT_EQ(wolfEventQueue_Init(&queue_), 0);
    queue_ready_ = true;
    op_ = std::make_unique<GcmOp>(dev_id_, 11);
    ASSERT_EQ(op_->init_ret, 0);
    ASSERT_EQ(op_->start(), WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(op_->dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
    gate_->wait_started();
  }
  void TearDown() override {
    gate_->open_gate();
    op_.reset();  // frees the object: the worker, if still running, is waited for
    if (queue_ready_) {
      EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
      wolfEventQueue_Free(&queue_);
    }
    wolfAsync_DevClose(&dev_id_);
  }

  std::shared_ptr<GateDevice> gate_ = std::make_shared<GateDevice>();
  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_{};
  bool queue_ready_ = false;
  std::unique_ptr<GcmOp> op_;
};

// Calling the API again on an object whose operation a worker is running
// computed at once on the caller's thread, racing the worker over the same
// object; now the call waits until the worker is done, then computes.
using CallAgainTest = GatedOpTest;
TEST_F(CallAgainTest, WaitsForTheWorkerRunningTheOperation) {
  GcmOp& op = *op_;
  byte again_out[testing_support::kGcmSz];
  byte again_tag[testing_support::kTagSz];
  std::atomic<bool> returned{false};
  int again = WC_PENDING_E;
  std::thread caller([&] {
    again =
        wc_AesGcmEncrypt(&op.aes, again_out, op.in, testing_support::kGcmSz, op.iv,
                         testing_support::kIvSz, again_tag, testing_support::kTagSz, nullptr, 0);
    returned = true;
  });
  // Long enough for a call that does not wait to have computed.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned.load()) << "the second call ran while the worker held the operation";
  gate_->open_gate();
  caller.join();
  EXPECT_EQ(again, 0);
  WOLF_EVENT* events[1];
  int n = 0;
  const testing_support::Deadline deadline;
  while (n == 0 && !deadline.passed()) {
    ASSERT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 1, WOLF_POLL_FLAG_CHECK_HW, &n),
              0);
  }
  ASSERT_EQ(n, 1);
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_TRUE(op.correct());
  EXPECT_EQ(std::memcmp(again_out, op.out, sizeof again_out), 0);
  EXPECT_EQ(std::memcmp(again_tag, op.tag, sizeof again_tag), 0);
}

// The stop that undoes the last start (wolfCrypt_Cleanup's) returned at
// once while a worker still ran an operation with wolfCrypt; now it waits
// for the worker, and the operation is still harvested afterwards.
using HardwareStopTest = GatedOpTest;
TEST_F(HardwareStopTest, LastStopWaitsForTheWorkers) {
  ASSERT_EQ(asynccrypt::Registry::instance().hardware_count(), 0);
  ASSERT_EQ(wolfAsync_HardwareStart(), 0);
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    wolfAsync_HardwareStop();
    stopped = true;
  });
  // Long enough for a stop that does not wait to have returned.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stopped.load()) << "the last stop returned while a worker ran an operation";
  gate_->open_gate();
  stopper.join();
  EXPECT_EQ(asynccrypt::Registry::instance().hardware_count(), 0);
  WOLF_EVENT* events[1];
  int n = 0;
  ASSERT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events, 1, 0, &n), 0);
  EXPECT_EQ(n, 1) << "finished by the time the stop returned";
  EXPECT_TRUE(op_->correct());
}

// ---------------------------------------------------------------------------
// Finding 9: device ids reused after a close.
// ---------------------------------------------------------------------------

TEST(StaleDevIdTest, CloseOfAStaleIdLeavesTheDeviceInItsSlotAlone) {
  int first = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&first, "sim", nullptr), 0);
  const int stale = first;
  wolfAsync_DevClose(&first);
  // The slot just freed is the lowest free one: the next open takes it.
  int second = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&second, "threads:workers=1", nullptr), 0);
  EXPECT_GE(second, 0);
  EXPECT_NE(second, stale);
  EXPECT_EQ(asynccrypt::Registry::instance().close(stale), NO_VALID_DEVID);
  int copy = stale;
  wolfAsync_DevClose(&copy);  // a second close of the stale id
  EXPECT_EQ(copy, INVALID_DEVID);
  char kind[16];
  EXPECT_EQ(asynccrypt_DevKind(stale, kind, sizeof kind), NO_VALID_DEVID);
  ASSERT_EQ(asynccrypt_DevKind(second, kind, sizeof kind), 0);
  EXPECT_STREQ(kind, "threads");
  // The new device still runs operations.
  GcmOp op(second, 9);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_EQ(wc_AsyncWait(op.start(), op.dev(), WC_ASYNC_FLAG_NONE), 0);
  EXPECT_TRUE(op.correct());
  wolfAsync_DevClose(&second);
}

TEST(StaleDevIdTest, IdsStayNonNegativeAndFreshAcrossManyReuses) {
  std::set<int> seen;
  for (int i = 0; i < 3000; ++i) {
    int id = INVALID_DEVID;
    ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "sim", nullptr), 0);
    ASSERT_GE(id, 0);
    EXPECT_TRUE(seen.insert(id).second) << "id " << id << " handed out twice";
    wolfAsync_DevClose(&id);
  }
}

// ---------------------------------------------------------------------------
// Finding 12: lower items.
// ---------------------------------------------------------------------------

// An EventQueue destroyed while an object's operation is still queued on it
// must not free the queue: the operation unlinks its event from it when the
// object is freed later (it freed the queue, and that unlink wrote into
// freed memory).
TEST(EventQueueResetTest, AQueueWithOperationsStillLinkedIsNotFreed) {
  int dev_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id, "sim:skip=0", nullptr), 0);
  WOLF_EVENT_QUEUE* left = nullptr;
  {
    GcmOp op(dev_id, 5);
    ASSERT_EQ(op.init_ret, 0);
    {
      auto queue = asynccrypt::EventQueue::create();
      ASSERT_TRUE(queue);
      ASSERT_TRUE(queue->fd());
      ASSERT_EQ(op.start(), WC_PENDING_E);
      ASSERT_EQ(wc_AsyncHandle(op.dev(), queue->get(), WC_ASYNC_FLAG_NONE), 0);
      left = queue->get();
    }  // destroyed with the operation queued
    EXPECT_EQ(left->count, 1);
    wc_AesFree(&op.aes);  // cancels and unlinks from the queue left behind
    EXPECT_EQ(left->count, 0);
  }
  // The queue the handle could not free is the test's to reclaim.
  EXPECT_EQ(asynccrypt_QueueRelease(left), 0);
  wolfEventQueue_Free(left);
  delete left;
  wolfAsync_DevClose(&dev_id);
}

#ifdef USE_WOLFSSL_MEMORY
// wolfSSL's allocator, failing the next allocation when armed.
std::atomic<bool> g_fail_next_alloc{false};
void* failing_malloc(size_t size) {
  if (g_fail_next_alloc.exchange(false)) return nullptr;
  return std::malloc(size);
}
void plain_free(void* p) { std::free(p); }
void* plain_realloc(void* p, size_t size) { return std::realloc(p, size); }

// A push whose submission runs out of memory returns MEMORY_E and must not
// leave the operation recorded: a later poll of the event ran it then, into
// buffers the caller had been told were not in use.
TEST(FailedPushTest, LeavesNoRecordForALaterPollToRun) {
  int dev_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id, "sim:skip=0", nullptr), 0);
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  {
    GcmOp op(dev_id, 3);
    ASSERT_EQ(op.init_ret, 0);
    ASSERT_EQ(op.start(), WC_PENDING_E);
    wolfSSL_Malloc_cb old_malloc;
    wolfSSL_Free_cb old_free;
    wolfSSL_Realloc_cb old_realloc;
    ASSERT_EQ(wolfSSL_GetAllocators(&old_malloc, &old_free, &old_realloc), 0);
    ASSERT_EQ(wolfSSL_SetAllocators(failing_malloc, plain_free, plain_realloc), 0);
    g_fail_next_alloc = true;  // the operation's record (Op)
    const int pushed = wc_AsyncHandle(op.dev(), &queue, WC_ASYNC_FLAG_NONE);
    g_fail_next_alloc = false;
    ASSERT_EQ(wolfSSL_SetAllocators(old_malloc, old_free, old_realloc), 0);
    EXPECT_EQ(pushed, MEMORY_E);
    EXPECT_EQ(queue.count, 0);
    EXPECT_EQ(op.dev()->sw.type, ASYNC_SW_NONE);
    EXPECT_NE(op.event()->state, WOLF_EVENT_STATE_PENDING);
    // The caller reuses its output buffer; a poll must not write into it.
    std::memset(op.out, 0xA5, sizeof op.out);
    EXPECT_EQ(wolfAsync_EventPoll(op.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
    EXPECT_EQ(op.out[0], 0xA5);
    EXPECT_EQ(op.out[sizeof op.out - 1], 0xA5);
    EXPECT_EQ(op.dev()->inflight, nullptr);
    // The object works again.
    EXPECT_EQ(wc_AsyncWait(op.start(), op.dev(), WC_ASYNC_FLAG_NONE), 0);
    EXPECT_TRUE(op.correct());
  }
  EXPECT_EQ(asynccrypt_QueueRelease(&queue), 0);
  wolfEventQueue_Free(&queue);
  wolfAsync_DevClose(&dev_id);
}
#endif

}  // namespace
