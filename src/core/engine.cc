// Submission, harvesting, waiting and cancellation of operations.
#include "core/engine.h"

#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <condition_variable>
#include <mutex>
#include <new>

#include "core/device.h"
#include "core/immortal.h"
#include "core/queue_state.h"
#include "core/registry.h"
#include "wolfcrypt/execute.h"
#include "wolfcrypt/failed_op.h"

namespace asynccrypt::engine {
namespace {

// Completion hand-off between a worker and an owner that blocks. The
// condition variables live in a static table, never in the Op, so a worker
// can still notify after the owner has woken and freed the Op.
struct Stripe {
  std::mutex mu;
  std::condition_variable cv;
};
std::array<Stripe, 64>& stripes() { return immortal<std::array<Stripe, 64>>(); }
Stripe& stripe_for(const Op* op) {
  return stripes()[(reinterpret_cast<std::uintptr_t>(op) >> 6) % stripes().size()];
}

// The owner's side of an object's operation is serialised per object:
// harvesting it (publishing its result, freeing the Op), driving it on a
// poll, waiting for it and cancelling it. A queue is shared by every
// connection of a WOLFSSL_CTX, and wolfSSL lets several threads use one
// context: one thread may poll the queue with no filter (harvesting and
// freeing anyone's operations) while another frees its own key (cancelling
// the same operation) or waits on it. Whoever holds the object's stripe
// owns its Op: pollers take it with try_lock while they hold the queue's
// lock, and skip an object whose stripe is busy (the next poll takes it),
// so a poller never waits here; cancel, waits and single-event polls take
// it blocking, then read dev->inflight again (a poller may have harvested
// it meanwhile). Lock order: stripe, then QueueState::mu, then wolfSSL's
// queue lock. Recursive: a wait polls its own event.
//
// A poll holds every stripe it took until it returns, so the number of
// stripes bounds the locks one thread holds at once: 32 keeps a poll of
// any maxEvents well inside ThreadSanitizer's limit of 64 locks held by
// one thread (and collisions cost only a skip until the next poll).
constexpr std::size_t kOwnerStripes = 32;
std::size_t owner_index(const WC_ASYNC_DEV* dev) {
  return (reinterpret_cast<std::uintptr_t>(dev) >> 4) % kOwnerStripes;
}
struct OwnerStripesTag;
std::array<std::recursive_mutex, kOwnerStripes>& owner_stripes() {
  return immortal<std::array<std::recursive_mutex, kOwnerStripes>, OwnerStripesTag>();
}
std::recursive_mutex& owner_stripe(const WC_ASYNC_DEV* dev) {
  return owner_stripes()[owner_index(dev)];
}

// The live ops of each owner stripe (Op::live_prev/live_next). They let
// wolfAsync_DevCtxInit find an operation by its record's address when the
// record itself no longer says (wolfCrypt's init functions zero the whole
// object first). Each list has a mutex of its own, never held while waiting:
// DevCtxInit runs on every object's init, also on temporaries inside the
// operations workers run while an owner waits holding a stripe, so looking
// for a live op must not take the stripe. Every Op is made and freed under
// its object's stripe, so an Op found while that stripe is held stays valid.
struct LiveList {
  std::mutex mu;
  Op* head = nullptr;  // guarded by mu
};
struct LiveListsTag;
std::array<LiveList, kOwnerStripes>& live_lists() {
  return immortal<std::array<LiveList, kOwnerStripes>, LiveListsTag>();
}
void link_live(Op* op) {
  LiveList& list = live_lists()[owner_index(op->dev)];
  std::lock_guard lock(list.mu);
  op->live_next = list.head;
  if (list.head != nullptr) list.head->live_prev = op;
  list.head = op;
}
void unlink_live(Op* op) {
  LiveList& list = live_lists()[owner_index(op->dev)];
  std::lock_guard lock(list.mu);
  if (op->live_prev != nullptr) op->live_prev->live_next = op->live_next;
  if (op->live_next != nullptr) op->live_next->live_prev = op->live_prev;
  if (list.head == op) list.head = op->live_next;
}
// dev's live op, or nullptr; to use it, hold dev's owner stripe.
Op* find_live(const WC_ASYNC_DEV* dev) {
  LiveList& list = live_lists()[owner_index(dev)];
  std::lock_guard lock(list.mu);
  for (Op* op = list.head; op != nullptr; op = op->live_next) {
    if (op->dev == dev) return op;
  }
  return nullptr;
}

// The stripes a poll has taken, released when it ends. A bitset rather
// than a list: a poll must not allocate (it could not report running out
// of memory), and each stripe is taken once however many objects share it.
class HeldStripes {
 public:
  HeldStripes() = default;
  HeldStripes(const HeldStripes&) = delete;
  HeldStripes& operator=(const HeldStripes&) = delete;
  ~HeldStripes() {
    for (std::size_t i = 0; i < kOwnerStripes; ++i) {
      if (held_[i]) owner_stripes()[i].unlock();
    }
  }
  // Takes dev's stripe without waiting; false when another thread holds it.
  // A stripe this poll holds already is not taken twice (see kOwnerStripes).
  bool try_take(const WC_ASYNC_DEV* dev) {
    const std::size_t i = owner_index(dev);
    if (held_[i]) return true;
    if (!owner_stripes()[i].try_lock()) return false;
    held_[i] = true;
    return true;
  }

 private:
  std::bitset<kOwnerStripes> held_;
};

void wait_until_done(Op* op) {
  Stripe& s = stripe_for(op);
  std::unique_lock lock(s.mu);
  s.cv.wait(lock, [op] { return op->phase.load(std::memory_order_acquire) == OpPhase::kDone; });
}

// Marks op done (result already stored) and wakes any blocked owner.
void mark_done(Op* op) {
  Stripe& s = stripe_for(op);
  std::lock_guard lock(s.mu);
  op->phase.store(OpPhase::kDone, std::memory_order_release);
  s.cv.notify_all();
}

// Moves a finished worker operation to its queue, on the worker's thread.
class EngineSink final : public CompletionSink {
 public:
  void on_complete(Op* op, bool busy) override {
    Device& device = *op->device;
    device.counters().completed.fetch_add(1, std::memory_order_relaxed);
    device.counters().in_flight.fetch_sub(1, std::memory_order_relaxed);
    // Still the worker's: the owner cannot harvest op before it is pushed.
    if (op->result < 0) wolfcrypt::reset_after_failure(op->dev);
    QueueState* qs = op->queue;
    if (qs == nullptr) {
      mark_done(op);
      return;
    }
    const int batch = device.completion_batch();
    QueueState::Signal signal;
    std::weak_ptr<QueueState> held;
    {
      // Under qs->mu so that the owner cannot harvest and free op before
      // mark_done has returned.
      std::lock_guard lock(qs->mu);
      qs->done.push_back(op);
      if (qs->hold_locked(batch, busy, device.clock())) {
        held = qs->weak_from_this();
      } else {
        signal = qs->wake_after_unlock_locked();
      }
      mark_done(op);
    }
    // The write to the owner's fd happens outside qs->mu (see QueueState).
    QueueState::signal(signal);
    // Other queues' holds may have outlasted kMaxHold behind this report.
    QueueState::wake_expired_holds();
    if (!held.expired()) QueueState::note_held(held);
  }
};
EngineSink g_sink;

Op* new_op(WC_ASYNC_DEV* dev, std::shared_ptr<Device> device, QueueState* qs) {
  void* mem = XMALLOC(sizeof(Op), dev->heap, DYNAMIC_TYPE_ASYNC);
  if (mem == nullptr) return nullptr;
  Op* op = new (mem) Op();
  op->dev = dev;
  op->event = &dev->event;
  op->heap = dev->heap;
  op->device = std::move(device);
  op->queue = qs;
  link_live(op);
  return op;
}

void free_op(Op* op) {
  op->device->counters().unharvested.fetch_sub(1, std::memory_order_relaxed);
  unlink_live(op);
  [[maybe_unused]] void* heap = op->heap;  // unused when XFREE ignores hints
  op->~Op();
  XFREE(op, heap, DYNAMIC_TYPE_ASYNC);
}

// Hands the event its result; under the object's owner stripe.
void publish(Op* op) {
  op->event->ret = op->result;
  op->event->state = WOLF_EVENT_STATE_DONE;
}

// Submits the operation recorded in dev. qs is nullptr for a single-event
// wait. Returns the op, or nullptr when memory ran out.
Op* submit(WC_ASYNC_DEV* dev, QueueState* qs) {
  std::shared_ptr<Device> device = Registry::instance().find_or_fallback(dev->devId);
  if (!device) return nullptr;
  Op* op = new_op(dev, device, qs);
  if (op == nullptr) return nullptr;
  dev->inflight = op;
  DeviceCounters& counters = device->counters();
  counters.submitted.fetch_add(1, std::memory_order_relaxed);
  counters.in_flight.fetch_add(1, std::memory_order_relaxed);
  counters.unharvested.fetch_add(1, std::memory_order_relaxed);

  switch (device->submit(op, g_sink)) {
    case Admission::kAccepted:
      return op;
    case Admission::kPolled:
      op->on_poll = true;
      if (qs != nullptr) {
        std::lock_guard lock(qs->mu);
        qs->polled.push_back(op);
        qs->wake_locked();  // a poll has work to do
      }
      return op;
    case Admission::kFull:
      break;
  }
  // The device is full: the submitting thread runs the operation itself, so
  // the caller never spins and nothing grows without bound.
  counters.inline_runs.fetch_add(1, std::memory_order_relaxed);
  op->result = wolfcrypt::execute_to_completion(dev);
  g_sink.on_complete(op, /*busy=*/false);
  return op;
}

// Finishes a poll-driven op on the owner's thread.
void complete_polled(Op* op) {
  if (op->result < 0) wolfcrypt::reset_after_failure(op->dev);
  op->device->counters().completed.fetch_add(1, std::memory_order_relaxed);
  op->device->counters().in_flight.fetch_sub(1, std::memory_order_relaxed);
  op->phase.store(OpPhase::kDone, std::memory_order_release);
  publish(op);
}

bool matches(const Op* op, const void* filter) {
  return filter == nullptr || op->event->context == filter;
}

// Unlinks the events of first and the ops linked after it (a local list,
// or one op on no list) from wolfSSL's queue under its lock.
void unlink_from_wolfssl_queue(WOLF_EVENT_QUEUE* queue, Op* first) {
  if (first == nullptr) return;
#ifndef SINGLE_THREADED
  wc_LockMutex(&queue->lock);
#endif
  for (Op* op = first; op != nullptr; op = op->next) wolfEventQueue_Remove(queue, op->event);
#ifndef SINGLE_THREADED
  wc_UnLockMutex(&queue->lock);
#endif
}

thread_local std::uint64_t t_poll_sequence = 0;

// Runs the poll-driven operations of a queue that match the filter, each
// under its object's stripe (taken into *stripes). The batch lives in local
// intrusive lists (an op off the queue's lists, under its stripe, is this
// poll's alone), so a poll allocates nothing.
void drive_polled(QueueState& qs, void* filter, HeldStripes* stripes) {
  ++t_poll_sequence;
  OpFifo batch{OpList::kNone};
  {
    std::lock_guard lock(qs.mu);
    for (Op* op = qs.polled.front(); op != nullptr;) {
      Op* next = op->next;
      if (matches(op, filter) && stripes->try_take(op->dev)) {
        qs.polled.erase(op);
        batch.push_back(op);
      }
      op = next;
    }
  }
  if (batch.empty()) return;
  // Crypto runs without the queue lock, so workers can still report.
  OpFifo finished{OpList::kNone};
  OpFifo unfinished{OpList::kNone};
  PollContext context{t_poll_sequence, 0};
  while (Op* op = batch.front()) {
    batch.erase(op);
    ++context.visit;
    if (op->device->poll(op, context)) {
      complete_polled(op);
      finished.push_back(op);
    } else {
      unfinished.push_back(op);
    }
  }
  std::lock_guard lock(qs.mu);
  while (Op* op = unfinished.back()) {
    unfinished.erase(op);
    qs.polled.push_front(op);  // keeps submission order
  }
  while (Op* op = finished.front()) {
    finished.erase(op);
    qs.done.push_back(op);
  }
  // Another thread's poll may have rearmed the fd while this batch was off
  // the lists: the fd must say that work waits again. Unfinished work waits
  // for the next poll, and the signal this poll believes in may have been
  // read by the loop that called it: write even if signalled.
  if (!qs.polled.empty()) {
    qs.wake_locked(QueueState::Wake::kEvenIfSignalled);
  } else if (!qs.done.empty()) {
    qs.wake_locked();
  }
}

// A push that fails hands its record back unused: the caller got the error
// and may let the operation's buffers go, so no later poll or wait may find
// the operation still recorded and run it. The event ends with the error.
// The key is made ready for a new operation too (failed_op.h).
int abandon_record(WC_ASYNC_DEV* dev, int error) {
  wolfcrypt::reset_after_failure(dev);  // clears the record (sw.type) too
  dev->event.ret = error;
  dev->event.state = WOLF_EVENT_STATE_DONE;
  return error;
}

}  // namespace

int push(WOLF_EVENT_QUEUE* queue, WOLF_EVENT* event) {
  WC_ASYNC_DEV* dev = event->dev.async;
  if (dev == nullptr) return WC_INIT_E;
  // Only the record's own event: the op publishes to and unlinks
  // &dev->event, so another event would stay linked and pending for ever.
  if (event != &dev->event) return BAD_FUNC_ARG;
  // dev->inflight is cleared by whoever harvests the previous operation,
  // maybe another thread: read and set it under the object's stripe.
  std::lock_guard owner(owner_stripe(dev));
  if (dev->inflight != nullptr) return BAD_COND_E;  // already submitted
  int ret = wolfEventQueue_Push(queue, event);
  if (ret != 0) return abandon_record(dev, ret);
  std::shared_ptr<QueueState> qs = QueueTable::instance().acquire_for_submit(queue);
  if (!qs || submit(dev, qs.get()) == nullptr) {
    if (qs) {
      std::lock_guard lock(qs->mu);
      --qs->live_ops;
      // A report may have held completions back counting on this op.
      if (!qs->done.empty()) qs->wake_locked();
    }
#ifndef SINGLE_THREADED
    wc_LockMutex(&queue->lock);
#endif
    wolfEventQueue_Remove(queue, event);
#ifndef SINGLE_THREADED
    wc_UnLockMutex(&queue->lock);
#endif
    if (qs) QueueTable::instance().release_if_idle(queue);
    // Out of memory: nothing was submitted. The recorded operation will
    // never run, so the key must not wait for it (see abandon_record).
    return abandon_record(dev, MEMORY_E);
  }
  return 0;
}

namespace {

// The calling thread's DeclineShortcut (and its tally there) for the device
// it asked about last, good while no registry slot has been emptied since it
// was taken (the count read before the device was found).
struct ShortcutCache {
  int dev_id = -1;
  std::uint64_t slots_freed = 0;
  std::shared_ptr<DeclineShortcut> shortcut;
  std::shared_ptr<DeclineShortcut::Tally> tally;
};
thread_local ShortcutCache t_shortcut;

}  // namespace

bool declines(WC_ASYNC_DEV* dev, int type) {
  if (!wolfcrypt::can_decline(dev, type)) return false;
  Registry& registry = Registry::instance();
  const std::uint64_t slots_freed = registry.slots_freed();
  ShortcutCache& cache = t_shortcut;
  const bool cached = cache.dev_id == dev->devId && cache.slots_freed == slots_freed;
  if (cached && cache.shortcut && cache.shortcut->surely_declines(dev, type)) {
    cache.tally->add_one();
    return true;
  }
  std::shared_ptr<Device> device = registry.find(dev->devId);
  if (!device) return false;
  if (!cached) {
    std::shared_ptr<DeclineShortcut> shortcut = device->decline_shortcut();
    auto tally = shortcut ? shortcut->tally_for_this_thread() : nullptr;
    if (!tally) shortcut = nullptr;  // out of memory: ask the device every time
    cache = ShortcutCache{dev->devId, slots_freed, std::move(shortcut), std::move(tally)};
  }
  if (!device->declines(dev, type)) return false;
  device->counters().declined.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int poll_queue(WOLF_EVENT_QUEUE* queue, void* filter, WOLF_EVENT** events, int max_events,
               WOLF_EVENT_FLAG flags, int* event_count) {
  std::shared_ptr<QueueState> qs = QueueTable::instance().find(queue);
  if (!qs) {
    if (event_count != nullptr) *event_count = 0;
    return 0;
  }
  HeldStripes stripes;  // released when the poll returns, after the frees
  if ((flags & WOLF_POLL_FLAG_CHECK_HW) != 0) drive_polled(*qs, filter, &stripes);

  OpFifo harvested{OpList::kNone};  // a local list: a poll allocates nothing
  bool rearm = false;
  QueueState::Signal left_behind;
  int give_way_fd = -1;
  bool give_way = false;
  {
    std::lock_guard lock(qs->mu);
    for (Op* op = qs->done.front(); op != nullptr;) {
      if (events != nullptr && static_cast<int>(harvested.size()) >= max_events) break;
      Op* next = op->next;
      // An object whose stripe another thread holds (cancelling or
      // waiting) stays for a later poll.
      if (matches(op, filter) && stripes.try_take(op->dev)) {
        qs->done.erase(op);
        harvested.push_back(op);
      }
      op = next;
    }
    qs->live_ops -= harvested.size();
    // Waiting only on workers: nothing poll-driven to run, nothing done
    // that this poll left (a filter, maxEvents).
    give_way = qs->note_empty_poll_locked(
        !harvested.empty(), qs->live_ops > 0 && qs->polled.empty() && qs->done.empty());
    give_way_fd = qs->event_fd;
    rearm = qs->rearm_wanted_locked();
    // Completions left behind (maxEvents, filter) may have been held back,
    // and the loop that called this poll may have read the signal: the fd
    // must say they wait.
    if (!qs->done.empty())
      left_behind = qs->wake_after_unlock_locked(QueueState::Wake::kEvenIfSignalled);
  }
  // The fd is read and written outside qs->mu, so workers reporting
  // meanwhile do not wait for the system call (see QueueState).
  if (rearm) qs->rearm();
  QueueState::signal(left_behind);
  unlink_from_wolfssl_queue(queue, harvested.front());
  int count = 0;
  while (Op* op = harvested.front()) {
    harvested.erase(op);
    publish(op);
    if (events != nullptr) events[count] = op->event;
    ++count;
    op->dev->inflight = nullptr;
    free_op(op);
  }
  if (count > 0) QueueTable::instance().release_if_idle(queue);
  // The fd stays open: qs keeps the state alive and only its owner (this
  // thread, polling) releases the fd.
  if (give_way) QueueState::give_way(give_way_fd);
  if (event_count != nullptr) *event_count = count;
  return 0;
}

int poll_event(WOLF_EVENT* event, WOLF_EVENT_FLAG flags) {
  WC_ASYNC_DEV* dev = event->dev.async;
  std::lock_guard owner(owner_stripe(dev));
  if (event->state != WOLF_EVENT_STATE_PENDING) return 0;
  auto* op = static_cast<Op*>(dev->inflight);
  if (op == nullptr) {
    if ((flags & WOLF_POLL_FLAG_CHECK_HW) == 0) return 0;
    if (dev->sw.type == ASYNC_SW_NONE) {
      // Nothing was recorded for this event: it can never finish.
      event->ret = BAD_FUNC_ARG;
      event->state = WOLF_EVENT_STATE_DONE;
      return 0;
    }
    op = submit(dev, nullptr);
    if (op == nullptr) {
      wolfcrypt::reset_after_failure(dev);  // it will never run (failed_op.h)
      return MEMORY_E;
    }
  }

  if (op->on_poll) {
    if ((flags & WOLF_POLL_FLAG_CHECK_HW) == 0 ||
        op->phase.load(std::memory_order_acquire) == OpPhase::kDone) {
      // Nothing to drive.
    } else if (op->queue != nullptr) {
      QueueState& qs = *op->queue;
      bool take = false;
      {
        std::lock_guard lock(qs.mu);
        if (op->list == OpList::kPolled) {
          qs.polled.erase(op);
          take = true;
        }
      }
      if (take) {
        const bool finished = op->device->poll(op, PollContext{++t_poll_sequence, 0});
        if (finished) complete_polled(op);
        std::lock_guard lock(qs.mu);
        if (finished)
          qs.done.push_back(op);
        else
          qs.polled.push_front(op);
      }
    } else if (op->device->poll(op, PollContext{++t_poll_sequence, 0})) {
      complete_polled(op);
    }
  }

  if (op->phase.load(std::memory_order_acquire) != OpPhase::kDone) return 0;
  publish(op);
  if (op->queue == nullptr) {
    // A single-event operation ends here; a queued one ends at its harvest.
    dev->inflight = nullptr;
    free_op(op);
  }
  return 0;
}

int wait_event(WOLF_EVENT* event) {
  WC_ASYNC_DEV* dev = event->dev.async;
  // Held while waiting: a poll on another thread skips this object rather
  // than free its Op under the wait.
  std::lock_guard owner(owner_stripe(dev));
  int ret = 0;
  while (event->state == WOLF_EVENT_STATE_PENDING && event->ret == WC_PENDING_E) {
    auto* op = static_cast<Op*>(dev->inflight);
    if (op != nullptr && !op->on_poll) wait_until_done(op);
    ret = poll_event(event, WOLF_POLL_FLAG_CHECK_HW);
    if (ret != 0) break;
  }
  return ret;
}

namespace {

// dev's owner stripe, locked, when dev has an operation in flight; unlocked
// otherwise. Most objects freed or initialised have nothing in flight
// (wolfCrypt frees temporaries, hashes inside the DRBG, inside the
// operations a waiting or polling thread drives while it holds another
// object's stripe): those go on without the stripe. Taking it there made
// two such threads wait for each other's stripe for ever (wolfSSL's
// unit.test hung on sim with 32 stripes). The live list has a lock of its
// own; an object's op is only made by its owner, the caller here.
std::unique_lock<std::recursive_mutex> lock_if_live(const WC_ASYNC_DEV* dev) {
  if (find_live(dev) == nullptr) return {};
  return std::unique_lock(owner_stripe(dev));
}

}  // namespace

void cancel(WC_ASYNC_DEV* dev) {
  // dev->inflight is read only under the stripe: a poll on another thread
  // may be harvesting (and freeing) this very Op.
  const auto owner = lock_if_live(dev);
  if (!owner.owns_lock()) return;
  auto* op = static_cast<Op*>(dev->inflight);
  if (op == nullptr) return;
  DeviceCounters& counters = op->device->counters();
  QueueState* qs = op->queue;
  bool withdrawn = false;

  if (op->on_poll) {
    withdrawn = op->phase.load(std::memory_order_acquire) != OpPhase::kDone;
    // A poll-driven device may hold hardware state for it (dpdk).
    if (withdrawn) (void)op->device->cancel(op);
  } else if (op->phase.load(std::memory_order_acquire) != OpPhase::kDone) {
    withdrawn = op->device->cancel(op);
    if (!withdrawn) wait_until_done(op);  // a worker holds the object: drain
  }
  if (withdrawn) {
    counters.cancelled.fetch_add(1, std::memory_order_relaxed);
    counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  if (qs != nullptr) {
    WOLF_EVENT_QUEUE* queue = qs->queue;
    {
      std::lock_guard lock(qs->mu);
      if (op->list == OpList::kPolled) qs->polled.erase(op);
      if (op->list == OpList::kDone) qs->done.erase(op);
      --qs->live_ops;
      // Reports may have held completions back counting on this op.
      if (qs->done.empty())
        qs->rearm_locked();
      else
        qs->wake_locked();
    }
    unlink_from_wolfssl_queue(queue, op);  // op is on no list: alone
    QueueTable::instance().release_if_idle(queue);
  }
  dev->inflight = nullptr;
  free_op(op);
}

void retire_collected(WC_ASYNC_DEV* dev) {
  std::lock_guard owner(owner_stripe(dev));
  if (dev->inflight != nullptr && dev->event.state != WOLF_EVENT_STATE_PENDING &&
      dev->sw.type != ASYNC_SW_NONE) {
    cancel(dev);
  }
}

bool in_flight(WC_ASYNC_DEV* dev) {
  std::lock_guard owner(owner_stripe(dev));
  return dev->inflight != nullptr;
}

void drain(WC_ASYNC_DEV* dev) {
  std::lock_guard owner(owner_stripe(dev));
  auto* op = static_cast<Op*>(dev->inflight);
  if (op == nullptr || op->on_poll) return;  // runs only inside polls
  if (op->phase.load(std::memory_order_acquire) == OpPhase::kDone) return;
  // Withdrawing is not possible here without unlinking (the owner may still
  // harvest), so wait: the operation is short and already on its way.
  wait_until_done(op);
}

namespace {

// Gives event back its links in queue when something zeroed them (wolfCrypt
// zeroes a whole object before wolfAsync_DevCtxInit): its neighbours still
// point at it. Searches wolfSSL's list under its lock; only on this misuse.
void restore_links(WOLF_EVENT_QUEUE* queue, WOLF_EVENT* event) {
#ifndef SINGLE_THREADED
  wc_LockMutex(&queue->lock);
#endif
  WOLF_EVENT* prev = nullptr;
  WOLF_EVENT* e = queue->head;
  while (e != nullptr && e != event) {
    prev = e;
    e = e->next;
  }
  WOLF_EVENT* next = nullptr;
  WOLF_EVENT* f = queue->tail;
  while (f != nullptr && f != event) {
    next = f;
    f = f->prev;
  }
  if (e == event && f == event) {
    event->prev = prev;
    event->next = next;
  }
#ifndef SINGLE_THREADED
  wc_UnLockMutex(&queue->lock);
#endif
}

}  // namespace

void end_before_init(WC_ASYNC_DEV* dev) {
  const auto owner = lock_if_live(dev);
  if (!owner.owns_lock()) return;
  Op* op = find_live(dev);  // again: a harvest may have freed it meanwhile
  if (op == nullptr) return;
  if (dev->inflight != op) {
    // The record was zeroed under its operation: say again what cancel()
    // reads from it.
    dev->inflight = op;
    if (op->queue != nullptr) restore_links(op->queue->queue, op->event);
  }
  cancel(dev);
}

namespace {

// The first op of stripe i that a worker still has (poll-driven ones run
// only inside polls), or nullptr.
Op* first_at_a_worker(std::size_t i) {
  LiveList& list = live_lists()[i];
  std::lock_guard lock(list.mu);
  for (Op* op = list.head; op != nullptr; op = op->live_next) {
    if (!op->on_poll && op->phase.load(std::memory_order_acquire) != OpPhase::kDone) {
      return op;
    }
  }
  return nullptr;
}

}  // namespace

void drain_workers() {
  for (std::size_t i = 0; i < kOwnerStripes; ++i) {
    // Under the stripe no op of it is freed; a worker's report takes no
    // stripe. The list's own lock is not held while waiting. Each wait ends
    // one op and the scan starts again, with nothing allocated: this runs in
    // wolfCrypt's cleanup, maybe with memory out.
    std::lock_guard owner(owner_stripes()[i]);
    while (Op* op = first_at_a_worker(i)) wait_until_done(op);
  }
}

int queue_fd(WOLF_EVENT_QUEUE* queue) {
  std::shared_ptr<QueueState> qs = QueueTable::instance().pin(queue);
  if (!qs) return MEMORY_E;
  std::lock_guard lock(qs->mu);
  if (qs->event_fd < 0) {
    qs->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (qs->event_fd < 0) return ASYNC_INIT_E;
    if (!qs->done.empty() || !qs->polled.empty()) qs->wake_locked();
  }
  return qs->event_fd;
}

int queue_release(WOLF_EVENT_QUEUE* queue) { return QueueTable::instance().unpin(queue); }

}  // namespace asynccrypt::engine
