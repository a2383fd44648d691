// The threads device.
#include "backends/threads/threads_device.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/op.h"
#include "core/wolfssl_api.h"
#include "wolfcrypt/execute.h"

namespace asynccrypt {

static_assert(OpCosts::kTypes >= wolfcrypt::kCostClasses, "every cost class has an estimate");

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Key generation for a TLS key share is never declined (docs/known-issues.md
// item 16). wolfSSL's TLS 1.3 server (seen on 5.9.2) loses track of its key
// share when the key was generated synchronously and the shared secret on it
// then pends: about one handshake in a hundred failed, the client reporting
// BAD_FUNC_ARG (-173), when ECC key generation was declined by turns
// (scripts/soak.sh, the perf_soak_short test). Whether the secret pends or
// not after a key made on a worker is fine. dpdk declines these kinds
// always, which never mixes.
bool generates_a_key_share(int type) {
  switch (type) {
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
    case ASYNC_SW_ECC_MAKE:
#endif
#if !defined(NO_DH) && defined(WC_ASYNC_ENABLE_DH)
    case ASYNC_SW_DH_GEN:
#endif
#if defined(HAVE_CURVE25519) && defined(WC_ASYNC_ENABLE_X25519)
    case ASYNC_SW_X25519_MAKE:
#endif
      return true;
    default:
      return false;
  }
}

// The record whose operation this thread's last declines() sent to a
// worker as a resample (OpCosts::judge) or a probe (LoneOpRule); submit()
// marks that operation to be measured. Declining and submitting are
// separate calls (wc_AsyncSwInit, then the push), so the record is how they
// meet; a mismatch only costs one measurement.
thread_local const WC_ASYNC_DEV* t_resample = nullptr;

// Rule 1 (see the header) for a kind judged cheap and no resample due: the
// device's answer is then "decline" whatever else holds. Everything else
// (a resample, the lone-operation rule) is left to declines().
class CheapKinds final : public DeclineShortcut {
 public:
  CheapKinds(std::shared_ptr<OpCosts> costs, std::uint64_t inline_ns)
      : costs_(std::move(costs)), inline_ns_(inline_ns) {}

  bool surely_declines(const WC_ASYNC_DEV* dev, int type) const override {
    if (inline_ns_ == 0 || generates_a_key_share(type)) return false;
    return costs_->cheap_and_not_due(wolfcrypt::cost_class(dev, type), inline_ns_);
  }

 private:
  const std::shared_ptr<OpCosts> costs_;
  const std::uint64_t inline_ns_;
};

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
  auto lone_text = spec.take_string("lone");
  if (!lone_text.is_ok()) return lone_text.status();
  LoneOps lone = LoneOps::kRunInline;
  if (lone_text.value() == "offload") {
    lone = LoneOps::kOffload;
  } else if (!lone_text.value().empty() && lone_text.value() != "inline") {
    return Status(BAD_FUNC_ARG,
                  "device spec threads: lone=" + lone_text.value() + " is not inline or offload");
  }
  if (Status s = spec.check_all_taken(); !s.is_ok()) return s;

  auto pool = WorkerPool::shared(static_cast<int>(workers.value()));
  if (!pool.is_ok()) return pool.status();
  return std::shared_ptr<Device>(std::make_shared<ThreadsDevice>(
      pool.take(), static_cast<int>(depth.value()), static_cast<int>(batch.value()),
      static_cast<int>(inline_us.value()), lone));
}

ThreadsDevice::ThreadsDevice(std::shared_ptr<WorkerPool> pool, int depth, int batch, int inline_us,
                             LoneOps lone, std::shared_ptr<const Clock> probe_clock)
    : pool_(std::move(pool)),
      lane_(depth),
      batch_(batch),
      inline_ns_(static_cast<std::uint64_t>(inline_us) * 1000u),
      lone_(lone),
      lone_rule_(std::move(probe_clock)),
      shortcut_(std::make_shared<CheapKinds>(pool_->shared_costs(), inline_ns_)) {}

ThreadsDevice::~ThreadsDevice() { pool_->drain(lane_); }

Admission ThreadsDevice::submit(Op* op, CompletionSink& sink) {
  const bool resample = op->dev == t_resample;
  if (resample) t_resample = nullptr;
  return pool_->try_submit(lane_, op, sink, /*measure=*/resample) ? Admission::kAccepted
                                                                  : Admission::kFull;
}

bool ThreadsDevice::cancel(Op* op) { return pool_->withdraw(lane_, op); }

bool ThreadsDevice::declines(const WC_ASYNC_DEV* dev, int type) {
  if (inline_ns_ == 0) return false;  // everything to the workers
  if (generates_a_key_share(type)) return false;
  const OpCosts::Verdict verdict =
      pool_->costs().judge(wolfcrypt::cost_class(dev, type), inline_ns_);
  if (verdict == OpCosts::Verdict::kCheap) return true;
  bool probe = false;
  if (lone_ == LoneOps::kRunInline) {
    const std::int64_t others = counters().unharvested.load(std::memory_order_relaxed);
    if (lone_rule_.run_inline(others > 0 ? static_cast<std::uint32_t>(others) : 0, &probe)) {
      counters().declined_alone.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  // A probe is measured like a resample: while a caller waits for each
  // operation, probes are all that reach the workers, and an estimate that
  // learned a cold first run (page faults: 100 us and more for an AES-GCM
  // record) would otherwise stay above the threshold, sending every
  // operation the long way (the lone rule, not DeclineShortcut).
  if (verdict == OpCosts::Verdict::kResample || probe) t_resample = dev;
  return false;
}

}  // namespace asynccrypt
