// A test helper: one wolfCrypt operation run to its end by polling a queue of its own, counting
// the polls, for tests of devices that do the work inside polls (the simulator's slices).
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

namespace testing_support {

// How wolfCrypt resumes an operation that pended: RSA, ECDSA and ECDH keep
// a state machine in the key and are called again for their result; DH's
// key generation and agreement, and ECC key generation, are done once the
// event completes, and their result is the event's.
enum class Resume { kCallAgain, kEventResult };

// PolledRun is what run_polled saw of one operation.
struct PolledRun {
  int result = WC_PENDING_E;        // the operation's final result
  int pends = 0;                    // WC_PENDING_E answers, one queue round each
  long polls = 0;                   // queue polls, every round together
  int event_result = WC_PENDING_E;  // the last completed event's own result
};

// The limits of run_polled, far above what any test needs: a round that
// reaches max_polls is a failure ("never finished"); an operation still
// pending after max_pends rounds keeps WC_PENDING_E as its result.
struct PollLimits {
  int max_pends = 16;
  long max_polls = 50'000'000;
};

// run_polled runs `call`, a wolfCrypt call on the object whose async record
// is *dev. While it answers WC_PENDING_E, the event goes to a queue of its
// own (WC_ASYNC_FLAG_CALL_AGAIN), which is polled one event at a time until
// the event completes; the operation then resumes as `resume` says.
template <typename Call>
PolledRun run_polled(WC_ASYNC_DEV* dev, Resume resume, Call call, PollLimits limits = {}) {
  PolledRun run;
  run.result = call();
  while (run.result == WC_PENDING_E && run.pends < limits.max_pends) {
    ++run.pends;
    WOLF_EVENT_QUEUE queue;
    EXPECT_EQ(wolfEventQueue_Init(&queue), 0);
    EXPECT_EQ(wc_AsyncHandle(dev, &queue, WC_ASYNC_FLAG_CALL_AGAIN), 0);
    for (;;) {
      WOLF_EVENT* events[1];
      int count = 0;
      EXPECT_EQ(
          wolfAsync_EventQueuePoll(&queue, nullptr, events, 1, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
      ++run.polls;
      if (count == 1) {
        run.event_result = events[0]->ret;
        break;
      }
      if (run.polls > limits.max_polls) {
        ADD_FAILURE() << "operation never finished";
        wolfEventQueue_Free(&queue);
        run.result = WC_TIMEOUT_E;
        return run;
      }
    }
    wolfEventQueue_Free(&queue);
    run.result = resume == Resume::kCallAgain ? call() : run.event_result;
  }
  return run;
}

}  // namespace testing_support
