// The threads device.
#include "backends/threads/threads_device.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "core/wolfssl_api.h"
#include "wolfcrypt/execute.h"

namespace asynccrypt {

static_assert(OpCosts::kTypes >= wolfcrypt::kCostClasses, "every cost class has an estimate");

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

int ThreadsDevice::online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? static_cast<int>(std::min<long>(n, kMaxWorkers)) : 1;
}

Result<std::shared_ptr<Device>> ThreadsDevice::create(DeviceSpec spec) {
  // "threads:4" means workers=4.
  for (auto it = spec.options.begin(); it != spec.options.end(); ++it) {
    if (!all_digits(it->first) || !it->second.empty()) continue;
    if (spec.options.count("workers") != 0) {
      return Status(BAD_FUNC_ARG, "device spec threads:" + it->first +
                                      " gives the worker count twice (also workers=)");
    }
    const std::string count = it->first;
    spec.options.erase(it);
    spec.options.emplace("workers", count);
    break;
  }
  auto workers = spec.take_int("workers", online_cpus(), 1, kMaxWorkers);
  if (!workers.is_ok()) return workers.status();
  auto depth = spec.take_int("depth", kDefaultDepth, 1, kMaxDepth);
  if (!depth.is_ok()) return depth.status();
  auto batch = spec.take_int("batch", kDefaultBatch, 1, kMaxBatch);
  if (!batch.is_ok()) return batch.status();
  auto inline_us = spec.take_int("inline_us", kDefaultInlineUs, 0, kMaxInlineUs);
  if (!inline_us.is_ok()) return inline_us.status();
  if (Status s = spec.check_all_taken(); !s.is_ok()) return s;

  auto pool = WorkerPool::shared(static_cast<int>(workers.value()));
  if (!pool.is_ok()) return pool.status();
  return std::shared_ptr<Device>(std::make_shared<ThreadsDevice>(
      pool.take(), static_cast<int>(depth.value()), static_cast<int>(batch.value()),
      static_cast<int>(inline_us.value())));
}

ThreadsDevice::ThreadsDevice(std::shared_ptr<WorkerPool> pool, int depth, int batch, int inline_us)
    : pool_(std::move(pool)),
      lane_(depth),
      batch_(batch),
      inline_ns_(static_cast<std::uint64_t>(inline_us) * 1000u) {}

ThreadsDevice::~ThreadsDevice() { pool_->drain(lane_); }

bool ThreadsDevice::submit(Op* op, CompletionSink& sink) {
  return pool_->try_submit(lane_, op, sink);
}

bool ThreadsDevice::cancel(Op* op) { return pool_->withdraw(lane_, op); }

bool ThreadsDevice::declines(const WC_ASYNC_DEV* dev, int type) {
  if (inline_ns_ == 0) return false;
  return pool_->costs().cheaper_than(wolfcrypt::cost_class(dev, type), inline_ns_);
}

}  // namespace asynccrypt
