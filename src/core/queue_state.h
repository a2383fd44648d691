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
//
// The wake-up fd. fd_signalled says that a write to event_fd has been made,
// or is about to be made by a thread that decided on it under mu, and has
// not been consumed by a read. Writes and reads of the fd are system calls,
// so the hot paths (a worker's completion, the owner's poll) decide under mu
// but call the kernel after unlocking (wake_after_unlock_locked + signal,
// rearm): holding mu across them made workers and owner sleep on it. A read
// that finds the counter still zero (the write is on its way) leaves
// fd_signalled set; the next poll consumes it (one spurious wake-up at worst,
// never a lost one).
struct QueueState : std::enable_shared_from_this<QueueState> {
  explicit QueueState(WOLF_EVENT_QUEUE* q) : queue(q) {}
  ~QueueState();
  QueueState(const QueueState&) = delete;
  QueueState& operator=(const QueueState&) = delete;

  WOLF_EVENT_QUEUE* const queue;

  std::mutex mu;  // guards every field below
  OpFifo polled{OpList::kPolled};
  OpFifo done{OpList::kDone};
  std::size_t live_ops = 0;   // submitted and not yet harvested or cancelled
  int event_fd = -1;          // eventfd, created on request
  bool fd_signalled = false;  // a write to event_fd made or on its way, unread
  bool pinned = false;        // kept while its fd is in use

  // Makes event_fd readable if there is work for the owner. Needs mu.
  void wake_locked();
  // Makes event_fd unreadable once nothing waits for the owner. Needs mu.
  void rearm_locked();

  // A write to make after unlocking mu (see wake_after_unlock_locked).
  struct Signal {
    int fd = -1;
    std::shared_ptr<QueueState> keep;  // the fd stays open until written
  };
  // Like wake_locked, but returns the write for the caller to make with
  // signal() once mu is released. Needs mu.
  Signal wake_after_unlock_locked();
  static void signal(const Signal& s);
  // True when the owner should try to rearm (see rearm()). Needs mu.
  bool rearm_wanted_locked() const;
  // The owner's rearm, called without mu: reads event_fd and, if the read
  // consumed a signal, clears fd_signalled, or signals again when work
  // arrived meanwhile. Only the queue's owner calls it (it keeps the fd open).
  void rearm();
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
