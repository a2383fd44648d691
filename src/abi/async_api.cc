// The extern "C" contract of async.h: argument checks, then the core.
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "core/device.h"
#include "core/engine.h"
#include "core/log.h"
#include "core/op.h"
#include "core/registry.h"
#include "wolfcrypt/execute.h"

extern "C" WC_ASYNC_DEV* asynccrypt_SslPendingDev(void* ssl);  // glue/async.c

using asynccrypt::Registry;

namespace {

// The device record an event belongs to, as the original resolved it: a
// wolfCrypt event's context is the record; a TLS event's is the WOLFSSL,
// whose pending record wolfSSL sets before it queues the event.
WC_ASYNC_DEV* resolve_dev(WOLF_EVENT_TYPE type, void* context) {
  if (context == nullptr) return nullptr;
  if (type == WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT) return static_cast<WC_ASYNC_DEV*>(context);
  if (type == WOLF_EVENT_TYPE_ASYNC_WOLFSSL) return asynccrypt_SslPendingDev(context);
  return nullptr;
}

// Operations publish their results to their record's own event
// (dev->event): wolfSSL and wc_AsyncHandle only ever use that one. Any other
// event naming the record would never be finished (a wait on it would spin
// for ever) and could not be unlinked.
bool is_own_event(const WOLF_EVENT* event) { return event == &event->dev.async->event; }

// A queued operation that finished and was already collected (by wc_AsyncWait
// or a single-event poll) stays in flight until a queue poll harvests it. If
// the caller has meanwhile recorded the object's next operation (sw.type is
// set again: the executor resets it on every final result), that old
// operation is retired now, or the new one would be mistaken for it and never
// run.
void retire_collected(WC_ASYNC_DEV* dev) {
  if (dev != nullptr) asynccrypt::engine::retire_collected(dev);
}

#if defined(WC_ASYNC_THREAD_BIND) && !defined(WC_NO_ASYNC_THREADING)
// Round robin over the CPUs in the process's affinity mask (CPU ids, not
// indexes: the mask may have holes).
int next_bind_cpu() {
  static std::atomic<unsigned> next{0};
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) == 0) return 0;
  const unsigned n =
      next.fetch_add(1, std::memory_order_relaxed) % static_cast<unsigned>(CPU_COUNT(&set));
  for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set) && static_cast<unsigned>(seen++) == n) return cpu;
  }
  return 0;
}
#endif

int report_open_failure(const asynccrypt::Status& status) {
  asynccrypt::set_last_error(status.message());
  asynccrypt::log(asynccrypt::LogLevel::kError, "cannot open device: %s", status.message().c_str());
  return status.code() != 0 ? status.code() : ASYNC_INIT_E;
}

}  // namespace

extern "C" {

int wolfAsync_HardwareStart(void) {
  Registry::instance().hardware_start();
  return 0;
}

void wolfAsync_HardwareStop(void) {
  // wolfCrypt_Cleanup calls the last stop: no worker may compute with
  // wolfCrypt after it has returned.
  if (Registry::instance().hardware_stop()) asynccrypt::engine::drain_workers();
}

int wolfAsync_DevOpen(int* devId) {
  if (devId == nullptr) return BAD_FUNC_ARG;
  *devId = INVALID_DEVID;
  auto id = Registry::instance().open_default();
  if (!id.is_ok()) {
    // As documented: any failure to open (even a bad ASYNCCRYPT_DEVICE spec)
    // is ASYNC_INIT_E here; asynccrypt_LastError says why.
    (void)report_open_failure(id.status());
    return ASYNC_INIT_E;
  }
  *devId = id.value();
  return 0;
}

int wolfAsync_DevOpenThread(int* devId, void* threadId) {
  if (devId == nullptr) return BAD_FUNC_ARG;
  std::string spec = Registry::default_spec();
#if defined(WC_ASYNC_THREAD_BIND) && !defined(WC_NO_ASYNC_THREADING)
  // The original's build-time binding, without its bug (it pinned to the
  // instance index): each thread opened here goes to the next CPU this
  // process may run on, unless the spec names one with cpu=N.
  if (threadId != nullptr && spec.find("cpu=") == std::string::npos) {
    spec +=
        (spec.find(':') == std::string::npos ? ":cpu=" : ",cpu=") + std::to_string(next_bind_cpu());
  }
#endif
  const int ret = asynccrypt_DevOpenSpec(devId, spec.c_str(), threadId);
  return ret == 0 ? 0 : ASYNC_INIT_E;
}

int asynccrypt_DevOpenSpec(int* devId, const char* spec, void* threadId) {
  if (devId == nullptr) return BAD_FUNC_ARG;
  *devId = INVALID_DEVID;
  if (spec == nullptr) return BAD_FUNC_ARG;
  auto id = Registry::instance().open(asynccrypt::OpenRequest{spec, threadId, true});
  if (!id.is_ok()) return report_open_failure(id.status());
  *devId = id.value();
  return 0;
}

const char* asynccrypt_LastError(void) { return asynccrypt::last_error(); }

int asynccrypt_DevKind(int devId, char* buf, word32 bufSz) {
  if (buf == nullptr || bufSz == 0) return BAD_FUNC_ARG;
  auto device = Registry::instance().find(devId);
  if (!device) return NO_VALID_DEVID;
  (void)std::snprintf(buf, bufSz, "%s", device->kind());  // cut to bufSz on purpose
  return 0;
}

int asynccrypt_DevGetStats(int devId, asynccrypt_DevStats* stats) {
  if (stats == nullptr) return BAD_FUNC_ARG;
  auto device = Registry::instance().find(devId);
  if (!device) return NO_VALID_DEVID;
  auto& c = device->counters();
  stats->submitted = c.submitted.load(std::memory_order_relaxed);
  stats->completed = c.completed.load(std::memory_order_relaxed);
  stats->inline_runs = c.inline_runs.load(std::memory_order_relaxed);
  stats->declined = c.declined.load(std::memory_order_relaxed);
  if (const auto shortcut = device->decline_shortcut()) {
    stats->declined += shortcut->declined();
  }
  stats->declined_alone = c.declined_alone.load(std::memory_order_relaxed);
  stats->cancelled = c.cancelled.load(std::memory_order_relaxed);
  const auto in_flight = c.in_flight.load(std::memory_order_relaxed);
  stats->in_flight = in_flight > 0 ? static_cast<word32>(in_flight) : 0;
  return 0;
}

int asynccrypt_DevCapabilities(int devId, word32* mask) {
  if (mask == nullptr) return BAD_FUNC_ARG;
  auto device = Registry::instance().find(devId);
  if (!device) return NO_VALID_DEVID;
  *mask = device->capabilities() & asynccrypt::Device::kAllOps;
  return 0;
}

namespace {

// The answer for a device kind without a slice budget.
int no_slice_budget(const asynccrypt::Device& device) {
  asynccrypt::set_last_error(std::string("device kind '") + device.kind() +
                             "' has no slice budget");
  return BAD_FUNC_ARG;
}

}  // namespace

int asynccrypt_DevSetSliceBudget(int devId, int slices, int budget_us) {
  auto device = Registry::instance().find(devId);  // keeps the control alive
  if (!device) return NO_VALID_DEVID;
  asynccrypt::SliceBudgetControl* control = device->slice_budget_control();
  if (control == nullptr) return no_slice_budget(*device);
  const asynccrypt::Status s = control->set_slice_budget({slices, budget_us});
  if (!s.is_ok()) asynccrypt::set_last_error(s.message());
  return s.code();
}

int asynccrypt_DevGetSliceBudget(int devId, int* slices, int* budget_us) {
  if (slices == nullptr || budget_us == nullptr) return BAD_FUNC_ARG;
  auto device = Registry::instance().find(devId);  // keeps the control alive
  if (!device) return NO_VALID_DEVID;
  asynccrypt::SliceBudgetControl* control = device->slice_budget_control();
  if (control == nullptr) return no_slice_budget(*device);
  const asynccrypt::SliceBudget budget = control->slice_budget();
  *slices = budget.slices;
  *budget_us = budget.budget_us;
  return 0;
}

void wolfAsync_DevClose(int* devId) {
  if (devId == nullptr) return;
  if (*devId != INVALID_DEVID) Registry::instance().close(*devId);
  *devId = INVALID_DEVID;
}

int wolfAsync_DevCtxInit(WC_ASYNC_DEV* asyncDev, word32 marker, void* heap, int devId) {
  if (asyncDev == nullptr) return BAD_FUNC_ARG;
  // An operation still in flight on this record would be orphaned by the
  // zeroing below while a worker writes the object: end it first, as a free
  // would (see async.h for why this does not refuse).
  asynccrypt::engine::end_before_init(asyncDev);
  std::memset(asyncDev, 0, sizeof(*asyncDev));
  asyncDev->devId = INVALID_DEVID;
  if (devId >= 0) {
    asyncDev->marker = marker;
    asyncDev->heap = heap;
    asyncDev->devId = devId;
  }
  return 0;
}

void wolfAsync_DevCtxFree(WC_ASYNC_DEV* asyncDev, word32 marker) {
  if (asyncDev == nullptr || asyncDev->marker != marker || marker == WOLFSSL_ASYNC_MARKER_INVALID) {
    return;
  }
  asynccrypt::engine::cancel(asyncDev);
  if (auto device = asynccrypt::Registry::instance().find(asyncDev->devId)) {
    device->forget(asyncDev, marker);
  }
  asyncDev->sw.type = ASYNC_SW_NONE;
  asyncDev->marker = WOLFSSL_ASYNC_MARKER_INVALID;
}

int wolfAsync_DevCopy(WC_ASYNC_DEV* src, WC_ASYNC_DEV* dst) {
  if (src == nullptr || dst == nullptr) return BAD_FUNC_ARG;
  if (src == dst) return 0;
  // dst is a byte copy of src: it must not claim src's operation.
  dst->inflight = nullptr;
  dst->sw.type = ASYNC_SW_NONE;
  if (dst->event.state == WOLF_EVENT_STATE_PENDING) dst->event.state = WOLF_EVENT_STATE_READY;
  dst->event.next = dst->event.prev = nullptr;
  // Nor src's record: a wait or poll of dst's event must look at dst.
  if (dst->event.dev.async == src) dst->event.dev.async = dst;
  if (dst->event.context == src) dst->event.context = dst;
  return 0;
}

int wolfAsync_EventInit(WOLF_EVENT* event, WOLF_EVENT_TYPE type, void* context, word32 flags) {
  if (event == nullptr) return BAD_FUNC_ARG;
  WC_ASYNC_DEV* dev = resolve_dev(type, context);
  // Re-initialising a wolfCrypt event whose operation is still in flight
  // would orphan it.
  if (type == WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT && dev != nullptr) {
    retire_collected(dev);
    if (asynccrypt::engine::in_flight(dev)) return BAD_COND_E;
  }
  event->type = type;
  event->context = context;
  event->dev.async = dev;
#ifndef WC_NO_ASYNC_THREADING
  event->threadId = pthread_self();
#endif
  event->ret = WC_PENDING_E;
  event->state = WOLF_EVENT_STATE_PENDING;
  event->flags = flags;
  return 0;
}

int wolfAsync_EventPoll(WOLF_EVENT* event, WOLF_EVENT_FLAG flags) {
  if (event == nullptr) return BAD_FUNC_ARG;
  if (event->dev.async == nullptr) return WC_INIT_E;
  if (!is_own_event(event)) return BAD_FUNC_ARG;
  return asynccrypt::engine::poll_event(event, flags);
}

int wolfAsync_EventWait(WOLF_EVENT* event) {
  if (event == nullptr) return BAD_FUNC_ARG;
  if (event->dev.async == nullptr) return WC_INIT_E;
  if (!is_own_event(event)) return BAD_FUNC_ARG;
  return asynccrypt::engine::wait_event(event);
}

int wolfAsync_EventPop(WOLF_EVENT* event, WOLF_EVENT_TYPE type) {
  if (event == nullptr) return BAD_FUNC_ARG;
  if (event->type != type) return WC_NO_PENDING_E;
  if (event->state == WOLF_EVENT_STATE_PENDING) return WC_PENDING_E;
  event->state = WOLF_EVENT_STATE_READY;
  return event->ret;
}

int wolfAsync_EventQueuePush(WOLF_EVENT_QUEUE* queue, WOLF_EVENT* event) {
  if (queue == nullptr || event == nullptr) return BAD_FUNC_ARG;
  event->dev.async = resolve_dev(event->type, event->context);
  return asynccrypt::engine::push(queue, event);
}

int wolfAsync_EventQueuePoll(WOLF_EVENT_QUEUE* queue, void* context_filter, WOLF_EVENT** events,
                             int maxEvents, WOLF_EVENT_FLAG event_flags, int* eventCount) {
  if (eventCount != nullptr) *eventCount = 0;
  if (queue == nullptr) return BAD_FUNC_ARG;
  if (events != nullptr && maxEvents <= 0) return BAD_FUNC_ARG;
  return asynccrypt::engine::poll_queue(queue, context_filter, events, maxEvents, event_flags,
                                        eventCount);
}

int wc_AsyncHandle(WC_ASYNC_DEV* asyncDev, WOLF_EVENT_QUEUE* queue, word32 flags) {
  if (asyncDev == nullptr || queue == nullptr) return BAD_FUNC_ARG;
  int ret = wolfAsync_EventInit(&asyncDev->event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, asyncDev, flags);
  if (ret == 0) ret = wolfAsync_EventQueuePush(queue, &asyncDev->event);
  return ret;
}

int wc_AsyncWait(int ret, WC_ASYNC_DEV* asyncDev, word32 flags) {
  if (ret != WC_PENDING_E) return ret;
  if (asyncDev == nullptr) return BAD_FUNC_ARG;
  WOLF_EVENT* event = &asyncDev->event;
  retire_collected(asyncDev);
  if (!asynccrypt::engine::in_flight(asyncDev)) {
    ret = wolfAsync_EventInit(event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, asyncDev, flags);
    if (ret != 0) return ret;
  }
  ret = wolfAsync_EventWait(event);
  if (ret == 0) {
    ret = event->ret;
    event->state = WOLF_EVENT_STATE_READY;
  }
  return ret;
}

#ifndef WC_NO_ASYNC_SLEEP
int wc_AsyncSleep(word32 ms) {
  timespec left{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0) {
    if (errno != EINTR) {
      asynccrypt::log(asynccrypt::LogLevel::kError, "wc_AsyncSleep: nanosleep failed: %s",
                      std::strerror(errno));
      return BAD_FUNC_ARG;
    }
  }
  return 0;
}
#endif

#ifdef WOLFSSL_ASYNC_CRYPT_SW
int wc_AsyncSwInit(WC_ASYNC_DEV* asyncDev, int type) {
  if (asyncDev == nullptr) return 0;
  // Atomic: on a call made again while a worker runs the operation, the
  // worker clears the record as it ends (execute()).
  if (std::atomic_ref<byte>(asyncDev->sw.type).load(std::memory_order_acquire) != ASYNC_SW_NONE) {
    // 0 tells the executor to compute. A caller that calls the API again
    // while its operation is in flight gets 0 too (it computes at once, as
    // with the original), but not while a worker is running the same
    // operation on the same object: it first waits for that worker.
    if (!asynccrypt::wolfcrypt::executing(asyncDev)) asynccrypt::engine::drain(asyncDev);
    return 0;
  }
  // 0 also when the device would rather not take it (an operation cheaper
  // than a hand-over): wolfCrypt then computes it synchronously, here.
  if (asynccrypt::engine::declines(asyncDev, type)) return 0;
  asyncDev->sw.type = static_cast<byte>(type);
  return 1;
}
#endif

int asynccrypt_SslDrain(void* ssl) {
  if (ssl == nullptr) return BAD_FUNC_ARG;
  WC_ASYNC_DEV* dev = asynccrypt_SslPendingDev(ssl);
  if (dev != nullptr) asynccrypt::engine::drain(dev);
  return 0;
}

int asynccrypt_QueueFd(WOLF_EVENT_QUEUE* queue) {
  if (queue == nullptr) return BAD_FUNC_ARG;
  return asynccrypt::engine::queue_fd(queue);
}

int asynccrypt_QueueRelease(WOLF_EVENT_QUEUE* queue) {
  if (queue == nullptr) return BAD_FUNC_ARG;
  return asynccrypt::engine::queue_release(queue);
}

}  // extern "C"
