// Side state per wolfSSL event queue, and the table that finds it.
#include "core/queue_state.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <new>
#include <unordered_map>
#include <vector>

#include "core/immortal.h"

namespace asynccrypt {

QueueState::~QueueState() {
  if (event_fd >= 0) ::close(event_fd);
}

void QueueState::wake_locked(Wake how) {
  if (event_fd < 0 || (fd_signalled && how == Wake::kUnlessSignalled)) return;
  write_signal();
  fd_signalled = true;
}

void QueueState::write_signal() {
  std::lock_guard fd_lock(fd_mu);
  const std::uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow, which a
  // few pending signals cannot do.
  [[maybe_unused]] ssize_t n = ::write(event_fd, &one, sizeof one);
}

bool QueueState::consume_signal() {
  std::lock_guard fd_lock(fd_mu);
  std::uint64_t value = 0;
  if (::read(event_fd, &value, sizeof value) == sizeof value) return true;
  // Nothing read. Under fd_mu a decided write is either made and counted
  // down, or not made yet: a count above zero is a write still to land
  // (the next poll consumes it); zero means nobody is writing, so the
  // signal was read by someone else (an event loop reading the fd after
  // EPOLLIN).
  return writes_on_the_way.load(std::memory_order_acquire) == 0;
}

void QueueState::rearm_locked() {
  if (!rearm_wanted_locked()) return;
  if (consume_signal()) fd_signalled = false;
}

QueueState::Signal QueueState::wake_after_unlock_locked(Wake how) {
  if (event_fd < 0 || (fd_signalled && how == Wake::kUnlessSignalled)) return {};
  fd_signalled = true;
  writes_on_the_way.fetch_add(1, std::memory_order_relaxed);
  return Signal{event_fd, shared_from_this()};
}

void QueueState::signal(const Signal& s) {
  if (!s.keep) return;
  QueueState& qs = *s.keep;
  // The write and its count-down are one step for consume_signal().
  std::lock_guard fd_lock(qs.fd_mu);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(s.fd, &one, sizeof one);
  qs.writes_on_the_way.fetch_sub(1, std::memory_order_release);
}

bool QueueState::hold_locked(int batch, bool busy, const Clock& clock) {
  // Signalled already (or no fd): nothing to hold back, nothing to write.
  if (event_fd < 0 || fd_signalled) return false;
  const std::size_t waiting = done.size();
  if (batch <= 1 || !busy || waiting >= static_cast<std::size_t>(batch) || live_ops <= waiting) {
    return false;
  }
  const Clock::time_point now = clock.now();
  if (waiting == 1) {
    held_since = now;  // the first held completion (done was empty)
    held_clock = &clock;
    return true;
  }
  return now - held_since < kMaxHold;
}

namespace {

// The queues that may hold completions back. Any report sweeps them, so a
// hold ends kMaxHold after it began, at the device's next report of any
// queue. Lock order: a QueueState's mu is never held while taking mu here.
struct HeldQueues {
  std::mutex mu;
  std::vector<std::weak_ptr<QueueState>> queues;  // guarded by mu
  std::atomic<std::size_t> count{0};              // queues.size(), read without mu
};
// Never destroyed (workers report at exit), and not on the heap: the first
// use is a worker's report, which must not abort when memory runs out.
HeldQueues& held_queues() { return immortal<HeldQueues>(); }

}  // namespace

void QueueState::note_held(const std::weak_ptr<QueueState>& held) {
  std::shared_ptr<QueueState> qs = held.lock();
  if (!qs) return;
  HeldQueues& list = held_queues();
  {
    std::lock_guard lock(list.mu);
    if (qs->hold_listed) return;
    try {
      list.queues.push_back(held);
      qs->hold_listed = true;
      list.count.store(list.queues.size(), std::memory_order_relaxed);
      return;
    } catch (const std::bad_alloc&) {
      // Out of memory: a hold nobody would sweep could wait for ever, so
      // it ends now (below).
    }
  }
  Signal wake;
  {
    std::lock_guard lock(qs->mu);
    if (!qs->done.empty()) wake = qs->wake_after_unlock_locked();
  }
  signal(wake);
}

void QueueState::wake_expired_holds() {
  HeldQueues& list = held_queues();
  if (list.count.load(std::memory_order_relaxed) == 0) return;  // the common case
  std::vector<std::weak_ptr<QueueState>> queues;
  {
    // A report that finds another sweeping leaves it to that one: reports
    // never wait for each other here.
    std::unique_lock lock(list.mu, std::try_to_lock);
    if (!lock.owns_lock()) return;
    queues.swap(list.queues);
    list.count.store(0, std::memory_order_relaxed);
    for (auto& weak : queues) {
      if (auto qs = weak.lock()) qs->hold_listed = false;
    }
  }
  for (auto& weak : queues) {
    std::shared_ptr<QueueState> qs = weak.lock();
    if (!qs) continue;
    Signal wake;
    bool holding = false;
    {
      std::lock_guard lock(qs->mu);
      holding = qs->event_fd >= 0 && !qs->fd_signalled && !qs->done.empty();
      if (holding && qs->held_clock->now() - qs->held_since >= kMaxHold) {
        wake = qs->wake_after_unlock_locked();
        holding = false;
      }
    }
    signal(wake);
    if (holding) note_held(weak);
  }
}

bool QueueState::rearm_wanted_locked() const {
  return event_fd >= 0 && fd_signalled && done.empty() && polled.empty();
}

void QueueState::rearm() {
  // Still signalled (a write is on its way): the next poll consumes it;
  // fd_signalled stays set so that nobody writes twice.
  if (!consume_signal()) return;
  Signal again;
  {
    std::lock_guard lock(mu);
    fd_signalled = false;
    // Work arrived after the decision: its reporter saw fd_signalled set
    // and did not write, so write for it.
    if (!done.empty() || !polled.empty()) again = wake_after_unlock_locked();
  }
  signal(again);
}

// Sharded so that threads with queues of their own rarely meet on a lock.
struct QueueTable::Shard {
  std::mutex mu;
  std::unordered_map<const WOLF_EVENT_QUEUE*, std::shared_ptr<QueueState>> states;  // guarded by mu
};

namespace {
constexpr std::size_t kShards = 16;

// The queue's state in shard, created when missing; nullptr when memory ran
// out, the map left as it was. Needs shard.mu. Creating a state is the one
// allocation of a submission besides its Op: the library is built with
// -fno-exceptions, where a failed allocation of a standard container
// aborts, so this file alone is compiled with -fexceptions and turns
// std::bad_alloc into nullptr here (push then fails with MEMORY_E). No
// exception leaves this function.
std::shared_ptr<QueueState>* slot_locked(QueueTable::Shard& shard,
                                         WOLF_EVENT_QUEUE* queue) noexcept {
  try {
    auto [it, inserted] = shard.states.try_emplace(queue);
    if (!it->second) {
      try {
        it->second = std::make_shared<QueueState>(queue);
      } catch (const std::bad_alloc&) {
        shard.states.erase(it);
        return nullptr;
      }
    }
    return &it->second;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
}  // namespace

QueueTable& QueueTable::instance() {
  // Static storage, not the heap: the first use may be a submission.
  return immortal<QueueTable>();
}

QueueTable::Shard& QueueTable::shard_for(const WOLF_EVENT_QUEUE* queue) {
  const auto h = std::hash<const void*>()(queue);
  return immortal<std::array<Shard, kShards>>()[(h >> 4) % kShards];
}

std::shared_ptr<QueueState> QueueTable::acquire_for_submit(WOLF_EVENT_QUEUE* queue) {
  Shard& shard = shard_for(queue);
  std::lock_guard lock(shard.mu);
  std::shared_ptr<QueueState>* slot = slot_locked(shard, queue);
  if (slot == nullptr) return nullptr;
  std::lock_guard state_lock((*slot)->mu);
  ++(*slot)->live_ops;
  return *slot;
}

std::shared_ptr<QueueState> QueueTable::find(WOLF_EVENT_QUEUE* queue) {
  Shard& shard = shard_for(queue);
  std::lock_guard lock(shard.mu);
  const auto it = shard.states.find(queue);
  return it == shard.states.end() ? nullptr : it->second;
}

std::shared_ptr<QueueState> QueueTable::pin(WOLF_EVENT_QUEUE* queue) {
  Shard& shard = shard_for(queue);
  std::lock_guard lock(shard.mu);
  std::shared_ptr<QueueState>* slot = slot_locked(shard, queue);
  if (slot == nullptr) return nullptr;
  std::lock_guard state_lock((*slot)->mu);
  (*slot)->pinned = true;
  return *slot;
}

void QueueTable::release_if_idle(WOLF_EVENT_QUEUE* queue) {
  Shard& shard = shard_for(queue);
  std::shared_ptr<QueueState> dropped;  // destroyed outside the locks
  std::lock_guard lock(shard.mu);
  const auto it = shard.states.find(queue);
  if (it == shard.states.end()) return;
  {
    std::lock_guard state_lock(it->second->mu);
    if (it->second->live_ops != 0 || it->second->pinned) return;
  }
  dropped = std::move(it->second);
  shard.states.erase(it);
}

int QueueTable::unpin(WOLF_EVENT_QUEUE* queue) {
  Shard& shard = shard_for(queue);
  std::shared_ptr<QueueState> dropped;
  std::lock_guard lock(shard.mu);
  const auto it = shard.states.find(queue);
  if (it == shard.states.end()) return 0;
  {
    std::lock_guard state_lock(it->second->mu);
    if (it->second->live_ops != 0) return BAD_STATE_E;
  }
  dropped = std::move(it->second);
  shard.states.erase(it);
  return 0;
}

bool QueueState::note_empty_poll_locked(bool harvested_any, bool at_workers) {
  if (harvested_any || !at_workers) {
    empty_polls = 0;
    return false;
  }
  if (empty_polls < kSpinPolls) {
    ++empty_polls;
    return false;
  }
  return true;
}

void QueueState::give_way(int fd) {
  if (fd < 0) {
    sched_yield();
    return;
  }
  // Only waits: reading the fd stays the owner's rearm (see "Reads and
  // writes from outside").
  pollfd p{fd, POLLIN, 0};
  const timespec limit{0, std::chrono::nanoseconds(kGiveWay).count()};
  (void)ppoll(&p, 1, &limit, nullptr);
}

}  // namespace asynccrypt
