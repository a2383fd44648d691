// The device registry: devId -> opened device, and the process's default device.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/status.h"

namespace asynccrypt {

// How a device is being opened.
struct OpenRequest {
  std::string spec;           // "sim", "threads:workers=4", ...
  void* thread_id = nullptr;  // pthread_t* for a per-thread open, else nullptr
  bool per_thread = false;
};

// Registry maps device ids to open devices. An id is a non-negative int:
// a slot and its generation (see registry.cc), or Device::kCallbackIdBase +
// slot for devices that ask for ids of their own (Device::id_base). An id of
// the first kind is never handed out again while someone may still hold it
// from before its close (up to many reuses of one slot). It is thread-safe;
// every member takes mu_, except a find() that repeats the calling thread's
// last one with no slot emptied since (registry.cc).
class Registry {
 public:
  static Registry& instance();

  // Opens the process-wide default device, shared by all wolfAsync_DevOpen
  // callers and counted: each open needs a close. Returns its id.
  Result<int> open_default();
  // Opens a new device of its own. Returns its id.
  Result<int> open(const OpenRequest& request);
  // Registers a device made outside the factory (tests and benchmarks use
  // devices of their own, e.g. one whose operations complete only when
  // told). Returns its id; close it with close() like any other.
  Result<int> adopt(const std::shared_ptr<Device>& device);
  // Closes one reference to devId. Unknown ids, and ids of devices already
  // closed (even when their slot holds a newer device), are left alone:
  // returns NO_VALID_DEVID for them, 0 otherwise.
  int close(int dev_id);

  // The device behind devId, or nullptr. Asked once per operation
  // (wc_AsyncSwInit, to let the device decline it): a thread that asks for
  // the same id again, with no device closed since, skips the mutex.
  std::shared_ptr<Device> find(int dev_id);
  // The device for an object bound to devId: the open device, or, for ids
  // this registry never handed out (wolfCrypt also uses devIds for crypto
  // callbacks), a simulator with the build's default settings.
  std::shared_ptr<Device> find_or_fallback(int dev_id);

  // How many slots have been emptied (closes, failed attaches) so far. A
  // thread that remembers something of a device, with this count read
  // before the device was found, knows the device is still open while the
  // count has not moved (engine::declines' shortcut cache).
  std::uint64_t slots_freed() const { return slots_freed_.load(std::memory_order_acquire); }

  // The spec the default device is opened with: $ASYNCCRYPT_DEVICE or "sim".
  static std::string default_spec();

  // Thread-safe reference count of wolfAsync_HardwareStart/Stop.
  void hardware_start();
  // True when this stop undid the last start.
  bool hardware_stop();
  int hardware_count();

 private:
  struct Slot {
    std::shared_ptr<Device> device;
    int opens = 0;       // references; >1 only for the default device
    int generation = 0;  // bumped at each close; part of the slot's ids
  };

  int add_locked(std::shared_ptr<Device> device);
  // Adds the device, gives it its id (Device::attach), returns the id.
  Result<int> add_and_attach(const std::shared_ptr<Device>& device);
  // The open slot that dev_id names (index and generation), or nullptr.
  Slot* slot_locked(int dev_id);
  // Empties a slot and bumps its generation and slots_freed_.
  void free_slot_locked(Slot* slot);
  // find() and find_or_fallback(): the thread's last lookup when it still
  // holds, else one pass under mu_ (the open device, or the fallback).
  std::shared_ptr<Device> lookup(int dev_id, bool or_fallback);
  // The simulator for ids never handed out, created on first use.
  std::shared_ptr<Device> fallback_locked();

  std::mutex mu_;
  std::vector<Slot> slots_;           // index = devId; guarded by mu_
  int default_id_ = -1;               // guarded by mu_
  std::shared_ptr<Device> fallback_;  // guarded by mu_
  int hardware_count_ = 0;            // guarded by mu_
  // Slots emptied so far (closes, failed attaches): bumped under mu_, read
  // without it by find() to tell whether the calling thread's last lookup
  // still holds.
  std::atomic<std::uint64_t> slots_freed_{0};
};

// Creates a device of the kind the spec names, through DeviceKinds
// (core/device_kinds.cc); the option cpu=N of every kind is handled here.
Result<std::shared_ptr<Device>> create_device(const OpenRequest& request);

// Remembers a failure message for asynccrypt_LastError on this thread.
void set_last_error(const std::string& message);
const char* last_error();

}  // namespace asynccrypt
