// Test helpers for opening devices by spec: asynccrypt::DeviceHandle, a failure recorded when the
// open fails, the threads device with every operation sent to its workers, and statistics.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <optional>
#include <string>
#include <utility>

#include "asynccrypt/device.h"
#include "backends/threads/threads_device.h"
#include "core/registry.h"

namespace testing_support {

// The threads device most tests use: four workers.
constexpr const char* kThreadsSpec = "threads:workers=4";

// with_all_to_workers is `spec`, with inline_us=0 added to a threads spec
// that does not set it: tests that want every operation to pend send all of
// them to the workers (threads_decline_test.cc covers the declining of cheap
// operations). Other specs are returned as they are.
inline std::string with_all_to_workers(const std::string& spec) {
  if (spec.rfind("threads", 0) != 0 || spec.find("inline_us=") != std::string::npos) return spec;
  return spec + (spec.find(':') == std::string::npos ? ":" : ",") + "inline_us=0";
}

// open_device opens `spec` (for `thread`, when given), or adds a failure
// saying why not and returns a closed handle: the caller asserts is_open().
inline asynccrypt::DeviceHandle open_device(const std::string& spec,
                                            std::optional<pthread_t> thread = std::nullopt) {
  auto dev = thread ? asynccrypt::DeviceHandle::open_for_thread(spec, *thread)
                    : asynccrypt::DeviceHandle::open(spec);
  if (!dev) {
    ADD_FAILURE() << dev.error().describe();
    return {};
  }
  return std::move(*dev);
}

// open_pending_device is open_device(with_all_to_workers(spec), thread).
inline asynccrypt::DeviceHandle open_pending_device(
    const std::string& spec, std::optional<pthread_t> thread = std::nullopt) {
  return open_device(with_all_to_workers(spec), thread);
}

// threads_device is the device behind a handle, as the threads kind (null
// for another kind).
inline asynccrypt::ThreadsDevice* threads_device(const asynccrypt::DeviceHandle& dev) {
  return dynamic_cast<asynccrypt::ThreadsDevice*>(
      asynccrypt::Registry::instance().find(dev.id()).get());
}

// stats_of is dev's statistics; a failure to read them is a test failure.
inline asynccrypt_DevStats stats_of(const asynccrypt::DeviceHandle& dev) {
  auto s = dev.stats();
  EXPECT_TRUE(s) << s.error().describe();
  return s ? *s : asynccrypt_DevStats{};
}

}  // namespace testing_support
