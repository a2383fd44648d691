// asynccrypt's side state for one WOLF_EVENT_QUEUE (wolfSSL owns the queue itself).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>

#include "core/clock.h"
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
//
// Reads and writes from outside. The fd's owner may read it (the common
// idiom after EPOLLIN) as long as it polls the queue afterwards; an outside
// write costs one spurious wake-up. So a read that finds nothing must tell
// "a decided write has not landed" from "someone else consumed the signal":
// writes_on_the_way counts decided writes, and fd_mu makes each write and
// its count-down one step for the reader (consume_signal), so a reader that
// finds nothing and no write on the way knows the signal was taken and
// clears fd_signalled. A poll that leaves work behind cannot know whether
// the signal it believes in is still in the fd: it writes again
// (Wake::kEvenIfSignalled), at worst one spurious wake-up.
//
// Batched wake-ups. A worker's report may be held back: put on `done`
// without a write, so one wake-up of the owner harvests several completions
// (each wake-up costs the owner a context switch and two system calls,
// about what a fast operation costs). hold_locked says when; the rules that
// keep every held completion from waiting for ever:
//  - a report holds only while another operation of the queue is live and
//    not done (live_ops > done.size()), so a later report, cancellation or
//    harvest of the queue follows and decides again;
//  - the report that brings done to the device's batch, that finds nothing
//    else pending, that is not `busy` (its pool is running out of queued
//    work), or that comes kMaxHold after the first held one (on the
//    reporting device's clock, Device::clock), wakes;
//  - whoever else takes an operation off live without a report (cancel(),
//    a failed push) or leaves completions behind (a poll limited by
//    maxEvents or a filter) wakes when done is not empty.
//  - every report, of any queue, also wakes the other queues whose first
//    held completion is kMaxHold old or more (wake_expired_holds): a
//    queue's own next report may sit behind other queues' work in a shared,
//    saturated pool, and a pool reports `busy` only while it has work.
// So a held completion waits at most until kMaxHold has passed and the
// device reports anything, or until the queue's next report, and never past
// the end of the operations in flight with it.
//
// Spinning owners. An owner that polls again and again while its operations
// run at workers (the original's tools and wolfSSL's examples loop on
// epoll_wait(..., 0) and the poll) keeps a core that the workers need. After
// kSpinPolls empty polls in a row, each further empty poll gives the core
// away before it returns (give_way): it waits on event_fd for at most
// kGiveWay, when the queue has one (a completion that is not held back ends
// the wait at once), else it yields the CPU. An owner that sleeps on the fd
// polls only when there is work, so it never gets there.
struct QueueState : std::enable_shared_from_this<QueueState> {
  // How long a report may keep the first held completion waiting.
  static constexpr Clock::duration kMaxHold = std::chrono::microseconds(200);
  static constexpr int kSpinPolls = 16;
  static constexpr Clock::duration kGiveWay = std::chrono::microseconds(50);

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
  // Writes decided under mu and not yet made; counted down by signal()
  // under fd_mu, without mu.
  std::atomic<int> writes_on_the_way{0};
  // Makes a write to event_fd and its count-down one step for a reader
  // (see "Reads and writes from outside"). Taken after mu, never before.
  std::mutex fd_mu;
  Clock::time_point held_since;  // when the first held completion arrived
  // The clock held_since was read on (the reporting device's); valid while
  // a completion is held: that op, on done, keeps its device alive.
  const Clock* held_clock = nullptr;
  bool hold_listed = false;  // on the list of holding queues; guarded by its lock
  // Polls in a row that found nothing to harvest while operations of the
  // queue were at worker devices (see "Spinning owners").
  int empty_polls = 0;

  // Whether a wake-up writes when a signal is believed unread already:
  // kEvenIfSignalled is for a poll that leaves work behind, whose signal
  // may have been read from outside.
  enum class Wake { kUnlessSignalled, kEvenIfSignalled };
  // Makes event_fd readable if there is work for the owner. Needs mu.
  void wake_locked(Wake how = Wake::kUnlessSignalled);
  // Makes event_fd unreadable once nothing waits for the owner. Needs mu.
  void rearm_locked();

  // For a worker's report just pushed onto done: true when the owner's
  // wake-up may wait (see "Batched wake-ups"), false when the caller must
  // wake it (wake_after_unlock_locked). `batch` is the reporting device's
  // completion_batch(), `busy` the report's hint, `clock` the device's
  // clock(), read only when the report would be held. Needs mu.
  bool hold_locked(int batch, bool busy, const Clock& clock);

  // A write to make after unlocking mu (see wake_after_unlock_locked).
  struct Signal {
    int fd = -1;
    std::shared_ptr<QueueState> keep;  // the fd stays open until written
  };
  // Like wake_locked, but returns the write for the caller to make with
  // signal() once mu is released. Needs mu.
  Signal wake_after_unlock_locked(Wake how = Wake::kUnlessSignalled);
  static void signal(const Signal& s);
  // True when the owner should try to rearm (see rearm()). Needs mu.
  bool rearm_wanted_locked() const;
  // After a report that held (hold_locked returned true), called without
  // mu: lists the queue so that later reports of any queue can end its hold.
  static void note_held(const std::weak_ptr<QueueState>& held);
  // Called by every report, without any queue's mu: wakes the listed
  // queues whose hold has lasted kMaxHold (see "Batched wake-ups").
  static void wake_expired_holds();
  // Counts a poll that harvested nothing while `at_workers`: some of the
  // queue's operations are live and none is poll-driven. Returns true when
  // the poll should give the core away (give_way). Needs mu.
  bool note_empty_poll_locked(bool harvested_any, bool at_workers);
  // Waits up to kGiveWay for event_fd to become readable (fd: event_fd read
  // under mu, -1 for none: then yields the CPU). Called without mu.
  static void give_way(int fd);
  // The owner's rearm, called without mu: reads event_fd and, if the read
  // consumed a signal, clears fd_signalled, or signals again when work
  // arrived meanwhile. Only the queue's owner calls it (it keeps the fd open).
  void rearm();

 private:
  void write_signal();
  // Reads event_fd under fd_mu: true when no signal is left in it or on its
  // way to it (this read consumed it, or someone else did).
  bool consume_signal();
};

// The states of all queues, keyed by queue address. Thread-safe.
class QueueTable {
 public:
  static QueueTable& instance();

  // The state for queue, created when missing; live_ops is incremented
  // before the table lock is released, so the state cannot vanish. nullptr
  // when memory ran out (nothing changed).
  std::shared_ptr<QueueState> acquire_for_submit(WOLF_EVENT_QUEUE* queue);
  // The state for queue, or nullptr.
  std::shared_ptr<QueueState> find(WOLF_EVENT_QUEUE* queue);
  // The state for queue, created when missing, and pinned; nullptr when
  // memory ran out.
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
