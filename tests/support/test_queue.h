// A test helper: event queues (asynccrypt::EventQueue) for tests, and running a batch of recorded
// wolfCrypt operations through one until every result is harvested.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "asynccrypt/queue.h"

namespace testing_support {

// new_queue is a new event queue (its completion fd is released with it);
// on failure it adds a test failure and returns an empty one.
inline asynccrypt::EventQueue new_queue() {
  auto queue = asynccrypt::EventQueue::create();
  if (!queue) {
    ADD_FAILURE() << queue.error().describe();
    return {};
  }
  return std::move(*queue);
}

// run_all pushes every recorded operation to one queue, then polls until
// all are harvested. results[i] gets the result of devs[i].
inline std::vector<int> run_all(const std::vector<WC_ASYNC_DEV*>& devs) {
  asynccrypt::EventQueue queue = new_queue();
  std::map<WC_ASYNC_DEV*, std::size_t> index;
  for (std::size_t i = 0; i < devs.size(); ++i) {
    index[devs[i]] = i;
    EXPECT_EQ(wc_AsyncHandle(devs[i], queue.get(), WC_ASYNC_FLAG_NONE), 0);
  }
  std::vector<int> results(devs.size(), WC_PENDING_E);
  std::size_t left = devs.size();
  for (long spins = 0; left > 0 && spins < 10'000'000; ++spins) {
    WOLF_EVENT* events[64];
    const auto polled = queue.poll(events, 64);
    EXPECT_TRUE(polled) << polled.error().describe();
    const int count = polled ? *polled : 0;
    for (int i = 0; i < count; ++i) {
      auto* dev = static_cast<WC_ASYNC_DEV*>(events[i]->context);
      results[index.at(dev)] = wolfAsync_EventPop(events[i], WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
      --left;
    }
  }
  EXPECT_EQ(left, 0u) << "operations never completed";
  return results;
}

}  // namespace testing_support
