// The device registry and the hardware start/stop reference count.
#include "core/registry.h"

#include <cstdio>
#include <cstdlib>

#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

// A device id is a slot index in its low kSlotBits and the slot's
// generation above them. Closing a device bumps its slot's generation, so an
// id kept after its close (a second wolfAsync_DevClose, a stale lookup) no
// longer names the next device opened in that slot. Ids stay non-negative
// ints (wolfSSL stores devId in an int; INVALID_DEVID is -2 and negative ids
// mean "no device") and below Device::kCallbackIdBase, the range of devices
// that ask for ids of their own (Device::id_base: kCallbackIdBase + slot,
// without a generation). A slot reused kGenerations times wraps to an old
// generation; by then the stale holder is long gone.
constexpr int kSlotBits = 12;
constexpr int kMaxDevices = 1 << kSlotBits;
constexpr int kGenerations = Device::kCallbackIdBase >> kSlotBits;
static_assert(kGenerations > 0 && (kGenerations << kSlotBits) <= Device::kCallbackIdBase);

thread_local std::string t_last_error;

// The calling thread's last successful find(): which id, how many slots
// had been emptied when it was made, and the device (weak, so that a cached
// lookup never keeps a closed device's workers alive; a make_shared block's
// memory stays until the thread's next miss or its exit). wc_AsyncSwInit looks
// the device up for every operation, and a thread almost always asks for
// the same id as before: a hit costs an atomic load and the weak pointer's
// lock instead of the registry mutex and a shared pointer copy.
struct LastLookup {
  int dev_id = -1;
  std::uint64_t slots_freed = 0;
  std::weak_ptr<Device> device;
};
thread_local LastLookup t_last_lookup;

}  // namespace

void set_last_error(const std::string& message) { t_last_error = message; }
const char* last_error() { return t_last_error.c_str(); }

Registry& Registry::instance() {
  // Never destroyed: devices may be closed from atexit handlers and
  // thread-exit paths after static destructors would have run.
  static Registry* registry = new Registry();
  return *registry;
}

std::string Registry::default_spec() {
  const char* env = std::getenv("ASYNCCRYPT_DEVICE");
  return (env != nullptr && env[0] != '\0') ? std::string(env) : std::string("sim");
}

int Registry::add_locked(std::shared_ptr<Device> device) {
  const int base = device->id_base();
  std::size_t index = 0;
  while (index < slots_.size() && slots_[index].device) ++index;
  if (index == slots_.size()) {
    if (slots_.size() >= kMaxDevices) return -1;
    slots_.push_back(Slot{});
  }
  Slot& slot = slots_[index];
  slot.device = std::move(device);
  slot.opens = 1;
  if (base != 0) return base + static_cast<int>(index);
  return (slot.generation << kSlotBits) | static_cast<int>(index);
}

Registry::Slot* Registry::slot_locked(int dev_id) {
  if (dev_id < 0) return nullptr;
  std::size_t index = 0;
  int base = 0;
  if (dev_id >= Device::kCallbackIdBase) {
    if (dev_id >= Device::kCallbackIdBase + kMaxDevices) return nullptr;
    base = Device::kCallbackIdBase;
    index = static_cast<std::size_t>(dev_id - base);
  } else {
    index = static_cast<std::size_t>(dev_id & (kMaxDevices - 1));
  }
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (!slot.device || slot.device->id_base() != base) return nullptr;
  if (base == 0 && slot.generation != (dev_id >> kSlotBits)) return nullptr;
  return &slot;
}

void Registry::free_slot_locked(Slot* slot) {
  slot->device.reset();
  slot->opens = 0;
  slot->generation = (slot->generation + 1) % kGenerations;
  // Under mu_: a find() that read the old count and then finds this slot
  // empty caches nothing; one that cached its device earlier no longer
  // matches.
  slots_freed_.fetch_add(1, std::memory_order_release);
}

Result<int> Registry::open_default() {
  std::lock_guard lock(mu_);
  if (default_id_ >= 0) {
    ++slot_locked(default_id_)->opens;
    return default_id_;
  }
  auto device = create_device(OpenRequest{default_spec(), nullptr, false});
  if (!device.is_ok()) return device.status();
  std::shared_ptr<Device> opened = device.take();
  if (opened->id_base() != 0) {
    // Its attach would call back into the registry under mu_; and a
    // device shared by every DevOpen caller makes no sense for it.
    return Status(BAD_FUNC_ARG, std::string("device kind '") + opened->kind() +
                                    "' cannot be the default device: open it with "
                                    "asynccrypt_DevOpenSpec");
  }
  const int id = add_locked(std::move(opened));
  if (id < 0) return Status(ASYNC_INIT_E, "too many open devices");
  default_id_ = id;
  return id;
}

Result<int> Registry::open(const OpenRequest& request) {
  auto device = create_device(request);
  if (!device.is_ok()) return device.status();
  return add_and_attach(device.take());
}

Result<int> Registry::add_and_attach(const std::shared_ptr<Device>& device) {
  int id = -1;
  {
    std::lock_guard lock(mu_);
    id = add_locked(device);
  }
  if (id < 0) return Status(ASYNC_INIT_E, "too many open devices");
  // Outside mu_: attach may call into wolfSSL (crypto callback table).
  if (Status s = device->attach(id); !s.is_ok()) {
    std::lock_guard lock(mu_);
    if (Slot* slot = slot_locked(id)) free_slot_locked(slot);
    return s;
  }
  return id;
}

Result<int> Registry::adopt(const std::shared_ptr<Device>& device) {
  if (!device) return Status(BAD_FUNC_ARG, "no device to adopt");
  return add_and_attach(device);
}

int Registry::close(int dev_id) {
  std::shared_ptr<Device> released;  // destroyed outside the lock
  {
    std::lock_guard lock(mu_);
    Slot* slot = slot_locked(dev_id);  // nullptr for a stale id: its device is gone
    if (slot == nullptr) return NO_VALID_DEVID;
    if (--slot->opens > 0) return 0;
    // Before the slot is free: a device opened next at the same id must
    // not be detached by this one.
    slot->device->detach(dev_id);
    released = std::move(slot->device);
    free_slot_locked(slot);
    if (dev_id == default_id_) default_id_ = -1;
  }
  return 0;
}

std::shared_ptr<Device> Registry::find(int dev_id) { return lookup(dev_id, false); }

std::shared_ptr<Device> Registry::find_or_fallback(int dev_id) { return lookup(dev_id, true); }

std::shared_ptr<Device> Registry::lookup(int dev_id, bool or_fallback) {
  // Read before the slot (under mu_ below): a close that empties the slot
  // after this read bumps the count past what gets cached.
  const std::uint64_t slots_freed = slots_freed_.load(std::memory_order_acquire);
  LastLookup& last = t_last_lookup;
  if (last.dev_id == dev_id && last.slots_freed == slots_freed) {
    if (std::shared_ptr<Device> device = last.device.lock()) return device;
  }
  std::shared_ptr<Device> device;
  {
    std::lock_guard lock(mu_);
    Slot* slot = slot_locked(dev_id);
    if (slot == nullptr) return or_fallback ? fallback_locked() : nullptr;
    device = slot->device;
  }
  last.dev_id = dev_id;
  last.slots_freed = slots_freed;
  last.device = device;
  return device;
}

std::shared_ptr<Device> Registry::fallback_locked() {
  if (!fallback_) {
    auto device = create_device(OpenRequest{"sim", nullptr, false});
    if (!device.is_ok()) return nullptr;
    fallback_ = device.take();
  }
  return fallback_;
}

void Registry::hardware_start() {
  std::lock_guard lock(mu_);
  ++hardware_count_;
}

bool Registry::hardware_stop() {
  std::lock_guard lock(mu_);
  if (hardware_count_ == 0) return false;
  return --hardware_count_ == 0;
}

int Registry::hardware_count() {
  std::lock_guard lock(mu_);
  return hardware_count_;
}

}  // namespace asynccrypt
