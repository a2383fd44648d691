// fork() with operations in flight, on every device of the list: the child
// either finishes each operation correctly or gets the documented code
// (WC_HW_E: an operation its device cannot finish in a child), and never
// hangs. On the threads device the fork comes while workers are busy and
// reporting (holding the queue's and the engine's locks), many times over.
//
// Each child runs under alarm(): a child that hangs dies of SIGALRM and the
// parent reports it. The limit is a generous bound against a hang, not a
// measure of speed. The child uses no gtest: it exits with a code that
// says what went wrong.
#include "core/wolfssl_api.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/deadline.h"
#include "support/device_list.h"
#include "support/gcm_op.h"
#include "support/sanitizers.h"

namespace {

using testing_support::GcmOp;

constexpr unsigned kChildAlarmSeconds = 60;
constexpr int kOps = 8;

// What a child reports through its exit status.
enum ChildExit : int {
  kChildOk = 0,
  kChildWrongResult = 10,     // an operation "succeeded" with a wrong output
  kChildUnexpectedCode = 11,  // an operation failed with a code other than WC_HW_E
  kChildNeverFinished = 12,   // an event never came back (deadline)
  kChildNewOpFailed = 13,     // an operation started in the child failed
  kChildSetupFailed = 14,
};

// Polls queue until every op's event has been harvested; checks each:
// correct, or failed with WC_HW_E when `hw_error_allowed`. Returns a
// ChildExit (or, in the parent, kChildOk).
int finish_all(WOLF_EVENT_QUEUE* queue, std::vector<std::unique_ptr<GcmOp>>& ops,
               bool hw_error_allowed) {
  std::size_t left = 0;
  for (auto& op : ops) left += op->event()->state == WOLF_EVENT_STATE_PENDING ? 1 : 0;
  const testing_support::Deadline deadline(std::chrono::seconds(30));
  while (left > 0 && !deadline.passed()) {
    WOLF_EVENT* events[kOps];
    int count = 0;
    if (wolfAsync_EventQueuePoll(queue, nullptr, events, kOps, WOLF_POLL_FLAG_CHECK_HW, &count) !=
        0) {
      return kChildUnexpectedCode;
    }
    left -= static_cast<std::size_t>(count);
  }
  if (left > 0) return kChildNeverFinished;
  for (auto& op : ops) {
    const int ret = op->event()->ret;
    if (ret == 0 && !op->correct()) return kChildWrongResult;
    if (ret != 0 && !(hw_error_allowed && ret == WC_HW_E)) return kChildUnexpectedCode;
  }
  return kChildOk;
}

// Starts kOps AES-GCM encryptions on dev_id through queue.
std::vector<std::unique_ptr<GcmOp>> start_ops(int dev_id, WOLF_EVENT_QUEUE* queue, byte seed) {
  std::vector<std::unique_ptr<GcmOp>> ops;
  for (int i = 0; i < kOps; ++i) {
    auto op = std::make_unique<GcmOp>(dev_id, static_cast<byte>(seed + i));
    const int ret = op->start();
    if (ret == WC_PENDING_E) {
      EXPECT_EQ(wc_AsyncHandle(op->dev(), queue, WC_ASYNC_FLAG_NONE), 0);
    } else {
      EXPECT_EQ(ret, 0);  // declined: done at once
      op->event()->state = WOLF_EVENT_STATE_DONE;
      op->event()->ret = ret;
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

// In the child: the operations in flight at the fork, then a new one on the
// same device (which must work, or fail with WC_HW_E on a device that does
// not survive fork).
int child_main(int dev_id, WOLF_EVENT_QUEUE* queue, std::vector<std::unique_ptr<GcmOp>>& ops,
               bool survives_fork) {
  alarm(kChildAlarmSeconds);
  if (int code = finish_all(queue, ops, /*hw_error_allowed=*/true); code != kChildOk) return code;
  GcmOp fresh(dev_id, 99);
  if (fresh.init_ret != 0) return kChildSetupFailed;
  const int ret = wc_AsyncWait(fresh.start(), fresh.dev(), WC_ASYNC_FLAG_NONE);
  if (ret == WC_HW_E && !survives_fork) return kChildOk;
  if (ret != 0) return kChildNewOpFailed;
  return fresh.correct() ? kChildOk : kChildWrongResult;
}

// Waits for the child; a hang shows as SIGALRM (or as our own kill after
// twice the child's alarm, should the alarm be blocked).
std::string wait_child(pid_t pid) {
  const testing_support::Deadline deadline(std::chrono::seconds(2 * kChildAlarmSeconds));
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return "waitpid failed";
    if (deadline.passed()) {
      kill(pid, SIGKILL);
      (void)waitpid(pid, &status, 0);
      return "child hung (killed)";
    }
    usleep(1000);
  }
  if (WIFSIGNALED(status)) {
    return WTERMSIG(status) == SIGALRM ? "child hung (SIGALRM)"
                                       : "child died of signal " + std::to_string(WTERMSIG(status));
  }
  if (WEXITSTATUS(status) != kChildOk)
    return "child exit code " + std::to_string(WEXITSTATUS(status));
  return "";
}

// dpdk does not survive fork(): its child gets WC_HW_E.
bool survives_fork(const testing_support::DeviceCase& c) { return !c.needs_dpdk; }

class ForkTest : public testing_support::DeviceTest {};

TEST_P(ForkTest, ChildFinishesOrFailsWithACodeAndNeverHangs) {
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  // Several forks, each with operations in flight (on a worker device:
  // queued, running and being reported).
  for (int round = 0; round < 5; ++round) {
    auto ops = start_ops(dev_id(), &queue, static_cast<byte>(round * 16));
    fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(child_main(dev_id(), &queue, ops, survives_fork(GetParam())));
    EXPECT_EQ(wait_child(pid), "") << "round " << round;
    // The parent's operations are untouched by the fork.
    EXPECT_EQ(finish_all(&queue, ops, /*hw_error_allowed=*/false), kChildOk) << "round " << round;
  }
  wolfEventQueue_Free(&queue);
}

INSTANTIATE_TEST_SUITE_P(Devices, ForkTest, ::testing::ValuesIn(testing_support::all_devices()),
                         testing_support::device_name);

// A threads device opened in the child gets workers of its own and runs
// operations on them, while the inherited device computes on the caller's
// thread.
TEST(ForkThreads, DeviceOpenedInTheChildHasItsOwnWorkers) {
#ifdef TESTING_UNDER_TSAN
  // ThreadSanitizer ends a child of a multi-threaded process that starts a
  // thread ("not supported", die_after_fork); this test runs in the dev and
  // ASan builds.
  GTEST_SKIP() << "ThreadSanitizer does not support threads started after a multi-threaded fork";
#endif
  int dev_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&dev_id, "threads:workers=2,inline_us=0", nullptr), 0);
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  auto ops = start_ops(dev_id, &queue, 1);
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(kChildAlarmSeconds);
    int code = finish_all(&queue, ops, /*hw_error_allowed=*/true);
    if (code != kChildOk) _exit(code);
    int child_dev = INVALID_DEVID;
    if (asynccrypt_DevOpenSpec(&child_dev, "threads:workers=2,inline_us=0", nullptr) != 0) {
      _exit(kChildSetupFailed);
    }
    auto child_ops = start_ops(child_dev, &queue, 50);
    code = finish_all(&queue, child_ops, /*hw_error_allowed=*/false);
    asynccrypt_DevStats stats{};
    if (code == kChildOk &&
        (asynccrypt_DevGetStats(child_dev, &stats) != 0 || stats.inline_runs != 0)) {
      code = kChildNewOpFailed;  // ran inline: the child's device has no workers
    }
    child_ops.clear();
    wolfAsync_DevClose(&child_dev);
    _exit(code);
  }
  EXPECT_EQ(wait_child(pid), "");
  EXPECT_EQ(finish_all(&queue, ops, /*hw_error_allowed=*/false), kChildOk);
  ops.clear();
  wolfEventQueue_Free(&queue);
  wolfAsync_DevClose(&dev_id);
}

}  // namespace

namespace {

// DPDK does not survive fork(): in a child the dpdk device fails every
// operation with WC_HW_E (even one the driver had finished before the fork)
// and opening a dpdk device fails with ASYNC_INIT_E.
TEST(ForkDpdk, ChildGetsTheDocumentedCodes) {
  asynccrypt::DeviceHandle dev;
  std::string skip;
  testing_support::open_case(testing_support::devices_named({"dpdk"}).at(0), &dev, &skip);
  if (!skip.empty()) DPDK_UNAVAILABLE(skip);
  ASSERT_TRUE(dev.is_open());
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(kChildAlarmSeconds);
    GcmOp op(dev.id(), 7);
    if (op.init_ret != 0) _exit(kChildSetupFailed);
    const int ret = wc_AsyncWait(op.start(), op.dev(), WC_ASYNC_FLAG_NONE);
    if (ret != WC_HW_E) _exit(ret == 0 ? kChildWrongResult : kChildUnexpectedCode);
    int again = INVALID_DEVID;
    if (asynccrypt_DevOpenSpec(&again, testing_support::dpdk_spec(), nullptr) != ASYNC_INIT_E) {
      _exit(kChildNewOpFailed);
    }
    _exit(kChildOk);
  }
  EXPECT_EQ(wait_child(pid), "");
  // The parent's device still works.
  GcmOp op(dev.id(), 8);
  ASSERT_EQ(op.init_ret, 0);
  EXPECT_EQ(wc_AsyncWait(op.start(), op.dev(), WC_ASYNC_FLAG_NONE), 0);
  EXPECT_TRUE(op.correct());
}

}  // namespace
