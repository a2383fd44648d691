// Side state per wolfSSL event queue, and the table that finds it.
#include "core/queue_state.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <functional>
#include <new>
#include <unordered_map>

#include "core/immortal.h"

namespace asynccrypt {

QueueState::~QueueState() {
  if (event_fd >= 0) ::close(event_fd);
}

void QueueState::wake_locked() {
  if (event_fd < 0 || fd_signalled) return;
  const std::uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow, which a
  // single pending 1 cannot do.
  [[maybe_unused]] ssize_t n = ::write(event_fd, &one, sizeof one);
  fd_signalled = true;
}

void QueueState::rearm_locked() {
  if (!rearm_wanted_locked()) return;
  std::uint64_t value = 0;
  // Nothing read means a worker's write has not landed yet: stay signalled.
  if (::read(event_fd, &value, sizeof value) == sizeof value) fd_signalled = false;
}

QueueState::Signal QueueState::wake_after_unlock_locked() {
  if (event_fd < 0 || fd_signalled) return {};
  fd_signalled = true;
  return Signal{event_fd, shared_from_this()};
}

void QueueState::signal(const Signal& s) {
  if (s.fd < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(s.fd, &one, sizeof one);
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
    return true;
  }
  return now - held_since < kMaxHold;
}

bool QueueState::rearm_wanted_locked() const {
  return event_fd >= 0 && fd_signalled && done.empty() && polled.empty();
}

void QueueState::rearm() {
  std::uint64_t value = 0;
  // Nothing read: a worker's write is on its way and the next poll
  // consumes it; fd_signalled stays set so that nobody writes twice.
  if (::read(event_fd, &value, sizeof value) != sizeof value) return;
  Signal again;
  {
    std::lock_guard lock(mu);
    if (done.empty() && polled.empty()) {
      fd_signalled = false;
    } else {
      // Work arrived after the decision: its reporter saw fd_signalled
      // set and did not write, so write for it.
      again = Signal{event_fd, nullptr};
    }
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

}  // namespace asynccrypt
