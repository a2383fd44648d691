// One operation in flight: from its submission to its harvest by the submitting thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/wolfssl_api.h"

namespace asynccrypt {

class Device;
struct QueueState;

// Where an operation is in its life. Transitions:
//   kQueued -> kRunning -> kDone           (a worker device)
//   kQueued -> kDone                       (a poll-driven device, or run inline)
//   kQueued -> kCancelled                  (its object was freed before it ran)
enum class OpPhase : int { kQueued, kRunning, kDone, kCancelled };

// Which of its queue's lists an operation is on (guarded by QueueState::mu).
enum class OpList : unsigned char { kNone, kPolled, kDone };

// Scratch space of an operation that belongs to its device, empty at
// submission: a number (a poll-driven device's step counter) and the
// device's own per-operation state, typed where it is read.
struct DeviceSlot {
  std::uint64_t number = 0;
  void* state = nullptr;

  template <typename T>
  T* state_as() const {
    return static_cast<T*>(state);
  }
};

// Op is allocated with wolfSSL's allocator and the object's heap hint, so
// WOLFSSL_TRACK_MEMORY builds account for it, and freed when harvested.
struct Op {
  WC_ASYNC_DEV* dev = nullptr;
  WOLF_EVENT* event = nullptr;
  void* heap = nullptr;
  std::shared_ptr<Device> device;  // keeps a closed device alive until done
  QueueState* queue = nullptr;     // nullptr for a single-event wait

  // Release-stored by the executor after `result`; acquire-loaded by the
  // owner before it reads `result`.
  std::atomic<OpPhase> phase{OpPhase::kQueued};
  int result = WC_PENDING_E;

  // Its device's admission was kPolled: it completes in its owner's polls
  // (Device::poll), not at a worker. Written once at submission, before
  // the op is on any list; read by its owner and under its owner stripe.
  bool on_poll = false;

  // Belongs to op->device. For a polled op the device touches it only in
  // poll() and cancel() (the owner's thread); for an accepted one between
  // submit() and its report, or in cancel().
  DeviceSlot slot;

  // Links of the queue list the op is on; guarded by queue->mu.
  Op* prev = nullptr;
  Op* next = nullptr;
  OpList list = OpList::kNone;

  // Links of the engine's list of live ops that share dev's owner stripe,
  // so a record is found by its address alone (engine.cc, end_before_init);
  // guarded by that list's mutex.
  Op* live_prev = nullptr;
  Op* live_next = nullptr;
};

}  // namespace asynccrypt
