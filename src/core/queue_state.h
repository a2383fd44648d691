// asynccrypt's side state for one WOLF_EVENT_QUEUE (wolfSSL owns the queue itself).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>

#include "core/op_list.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {

// QueueState holds the operations submitted through one wolfSSL event queue,
// so a poll touches only what it can harvest: `polled` holds operations of
// poll-driven devices still to run, `done` holds finished ones waiting to be
// handed back. Operations at worker devices are on neither list until their
// worker reports them. wolfSSL's own queue list is only ever unlinked from.
struct QueueState {
  explicit QueueState(WOLF_EVENT_QUEUE* q) : queue(q) {}
  ~QueueState();
  QueueState(const QueueState&) = delete;
  QueueState& operator=(const QueueState&) = delete;

  WOLF_EVENT_QUEUE* const queue;

  std::mutex mu;                      // guards every field below
  OpFifo polled{OpList::kPolled};
  OpFifo done{OpList::kDone};
  std::size_t live_ops = 0;           // submitted and not yet harvested or cancelled
  int event_fd = -1;                  // eventfd, created on request
  bool fd_signalled = false;          // event_fd currently reads as ready
  bool pinned = false;                // kept while its fd is in use

  // Makes event_fd readable if there is work for the owner. Needs mu.
  void wake_locked();
  // Makes event_fd unreadable once nothing waits for the owner. Needs mu.
  void rearm_locked();
};

// The states of all queues, keyed by queue address. Thread-safe.
class QueueTable {
 public:
  static QueueTable& instance();

  // The state for queue, created when missing; live_ops is incremented
  // before the table lock is released, so the state cannot vanish.
  std::shared_ptr<QueueState> acquire_for_submit(WOLF_EVENT_QUEUE* queue);
  // The state for queue, or nullptr.
  std::shared_ptr<QueueState> find(WOLF_EVENT_QUEUE* queue);
  // The state for queue, created when missing, and pinned.
  std::shared_ptr<QueueState> pin(WOLF_EVENT_QUEUE* queue);
  // Drops the state when nothing is live and it is not pinned.
  void release_if_idle(WOLF_EVENT_QUEUE* queue);
  // Unpins and drops the state; fails with BAD_STATE_E while ops are live.
  int unpin(WOLF_EVENT_QUEUE* queue);

  struct Shard;  // defined in queue_state.cc

 private:
  Shard& shard_for(const WOLF_EVENT_QUEUE* queue);
};

}  // namespace asynccrypt
