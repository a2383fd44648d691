// asynccrypt::QueueFd (a queue's completion fd, released when done) and asynccrypt::EventQueue (an
// owned wolfSSL event queue) for event loops that sleep in poll/epoll instead of spinning.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/wolfevent.h>

#include <memory>
#include <utility>

#include "asynccrypt/error.h"

namespace asynccrypt {
inline namespace api {

// QueueFd holds the completion fd of one event queue (asynccrypt_QueueFd)
// and gives asynccrypt's state for that queue back (asynccrypt_QueueRelease)
// when destroyed. The fd is readable while completed events wait for a
// poll; it belongs to asynccrypt, so never close it yourself. Move-only.
//
// Safety: the queue must outlive the QueueFd (asynccrypt keys its state by
// the queue's address), and one QueueFd per queue: a release forgets the
// state whoever asked for the fd. Use it on the queue's owner thread.
class QueueFd {
 public:
  QueueFd() = default;
  QueueFd(QueueFd&& other) noexcept
      : queue_(std::exchange(other.queue_, nullptr)), fd_(std::exchange(other.fd_, -1)) {}
  QueueFd& operator=(QueueFd&& other) noexcept {
    if (this != &other) {
      (void)release();
      queue_ = std::exchange(other.queue_, nullptr);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  QueueFd(const QueueFd&) = delete;
  QueueFd& operator=(const QueueFd&) = delete;
  // The destructor releases; if operations are still queued that fails
  // (BAD_STATE_E) and the state, one fd, stays until a later
  // asynccrypt_QueueRelease of the queue. Call release() to see the error.
  ~QueueFd() { (void)release(); }

  // attach asks asynccrypt for `queue`'s fd. Fails with BAD_FUNC_ARG for a
  // NULL queue, ASYNC_INIT_E when no eventfd can be made.
  static Expected<QueueFd> attach(WOLF_EVENT_QUEUE* queue) {
    const int fd = asynccrypt_QueueFd(queue);
    if (fd < 0) return Error::from_code(fd, "asynccrypt_QueueFd");
    QueueFd out;
    out.queue_ = queue;
    out.fd_ = fd;
    return out;
  }

  // release gives the queue's state and fd back now. Fails with BAD_STATE_E
  // while operations are still queued; the handle then stays attached (so
  // a later release, or the destructor, tries again). Releasing an empty or
  // released QueueFd succeeds and does nothing.
  Expected<void> release() {
    if (queue_ == nullptr) return {};
    if (const int ret = asynccrypt_QueueRelease(queue_); ret != 0) {
      return Error::from_code(ret, "asynccrypt_QueueRelease");
    }
    queue_ = nullptr;
    fd_ = -1;
    return {};
  }

  // fd is the descriptor to poll for POLLIN/EPOLLIN (-1 when not attached).
  int fd() const { return fd_; }
  WOLF_EVENT_QUEUE* queue() const { return queue_; }
  bool attached() const { return queue_ != nullptr; }

 private:
  WOLF_EVENT_QUEUE* queue_ = nullptr;
  int fd_ = -1;
};

// EventQueue owns a wolfSSL event queue (wolfEventQueue_Init/Free) for
// wolfCrypt operations queued with wc_AsyncHandle, and its completion fd.
// The queue lives on the heap so that moving the handle keeps its address,
// which asynccrypt and the queued events refer to. Move-only.
//
// Safety: one owner thread (the one that queues and polls). Free or harvest
// every object queued on it before destroying it: their cancellation
// unlinks them from this queue. A queue destroyed with events still linked
// is not freed (it leaks), so those later cancellations stay safe.
class EventQueue {
 public:
  EventQueue() = default;  // empty: get() is NULL; use create().
  EventQueue(EventQueue&&) noexcept = default;
  EventQueue& operator=(EventQueue&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::move(other.fd_);
      queue_ = std::move(other.queue_);
    }
    return *this;
  }
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  ~EventQueue() { reset(); }

  // create initialises an empty queue; fails with wolfEventQueue_Init's code.
  static Expected<EventQueue> create() {
    EventQueue out;
    out.queue_ = std::make_unique<WOLF_EVENT_QUEUE>();
    if (const int ret = wolfEventQueue_Init(out.queue_.get()); ret != 0) {
      out.queue_.reset();  // nothing to free: Init failed
      return Error::from_code(ret, "wolfEventQueue_Init");
    }
    return out;
  }

  // get is the queue for wc_AsyncHandle and wolfAsync_EventQueuePoll.
  WOLF_EVENT_QUEUE* get() const { return queue_.get(); }

  // fd is the queue's completion fd, asked for on first use and released
  // with the queue. Fails as QueueFd::attach does.
  Expected<int> fd() {
    if (!fd_.attached()) {
      auto attached = QueueFd::attach(queue_.get());
      if (!attached) return attached.error();
      fd_ = std::move(*attached);
    }
    return fd_.fd();
  }

  // poll harvests up to max_events completed events into events[]
  // (wolfAsync_EventQueuePoll with no context filter) and returns how many.
  // WOLF_POLL_FLAG_CHECK_HW also drives poll-driven devices (sim, chaos).
  Expected<int> poll(WOLF_EVENT** events, int max_events,
                     WOLF_EVENT_FLAG flags = WOLF_POLL_FLAG_CHECK_HW) {
    int count = 0;
    const int ret =
        wolfAsync_EventQueuePoll(queue_.get(), nullptr, events, max_events, flags, &count);
    if (ret != 0) return Error::from_code(ret, "wolfAsync_EventQueuePoll");
    return count;
  }

 private:
  void reset() {
    // Before the queue: the state is keyed by its address.
    const bool released = static_cast<bool>(fd_.release());
    if (!queue_) return;
    if (!released || queue_->count != 0) {
      // Events are still linked (objects queued and neither harvested nor
      // freed): their operations point at this queue and unlink from it
      // when they end. Freeing it would make that a write into freed memory,
      // so it is left allocated instead (a leak, on a caller's bug).
      (void)queue_.release();
      return;
    }
    wolfEventQueue_Free(queue_.get());
    queue_.reset();
  }

  QueueFd fd_;  // released by reset() before the queue is freed
  std::unique_ptr<WOLF_EVENT_QUEUE> queue_;
};

}  // namespace api
}  // namespace asynccrypt
