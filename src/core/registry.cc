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
// mean "no device"): 12 slot bits and 19 generation bits. A slot reused
// 2^19 times wraps to an old generation; by then the stale holder is long gone.
constexpr int kSlotBits = 12;
constexpr int kMaxDevices = 1 << kSlotBits;
constexpr int kGenerationMask = (1 << (31 - kSlotBits)) - 1;

int make_id(std::size_t slot, int generation) {
  return (generation << kSlotBits) | static_cast<int>(slot);
}

thread_local std::string t_last_error;

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
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].device) {
      slots_[i].device = std::move(device);
      slots_[i].opens = 1;
      return make_id(i, slots_[i].generation);
    }
  }
  if (slots_.size() >= kMaxDevices) return -1;
  slots_.push_back(Slot{std::move(device), 1, 0});
  return make_id(slots_.size() - 1, 0);
}

Registry::Slot* Registry::slot_locked(int dev_id) {
  if (dev_id < 0) return nullptr;
  const auto index = static_cast<std::size_t>(dev_id & (kMaxDevices - 1));
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (!slot.device || slot.generation != (dev_id >> kSlotBits)) return nullptr;
  return &slot;
}

Result<int> Registry::open_default() {
  std::lock_guard lock(mu_);
  if (default_id_ >= 0) {
    ++slot_locked(default_id_)->opens;
    return default_id_;
  }
  auto device = create_device(OpenRequest{default_spec(), nullptr, false});
  if (!device.is_ok()) return device.status();
  const int id = add_locked(device.take());
  if (id < 0) return Status(ASYNC_INIT_E, "too many open devices");
  default_id_ = id;
  return id;
}

Result<int> Registry::open(const OpenRequest& request) {
  auto device = create_device(request);
  if (!device.is_ok()) return device.status();
  std::lock_guard lock(mu_);
  const int id = add_locked(device.take());
  if (id < 0) return Status(ASYNC_INIT_E, "too many open devices");
  return id;
}

Result<int> Registry::adopt(std::shared_ptr<Device> device) {
  if (!device) return Status(BAD_FUNC_ARG, "no device to adopt");
  std::lock_guard lock(mu_);
  const int id = add_locked(std::move(device));
  if (id < 0) return Status(ASYNC_INIT_E, "too many open devices");
  return id;
}

int Registry::close(int dev_id) {
  std::shared_ptr<Device> released;  // destroyed outside the lock
  {
    std::lock_guard lock(mu_);
    Slot* slot = slot_locked(dev_id);  // nullptr for a stale id: its device is gone
    if (slot == nullptr) return NO_VALID_DEVID;
    if (--slot->opens > 0) return 0;
    released = std::move(slot->device);
    slot->opens = 0;
    slot->generation = (slot->generation + 1) & kGenerationMask;
    if (dev_id == default_id_) default_id_ = -1;
  }
  return 0;
}

std::shared_ptr<Device> Registry::find(int dev_id) {
  std::lock_guard lock(mu_);
  Slot* slot = slot_locked(dev_id);
  return slot != nullptr ? slot->device : nullptr;
}

std::shared_ptr<Device> Registry::find_or_fallback(int dev_id) {
  std::lock_guard lock(mu_);
  if (Slot* slot = slot_locked(dev_id)) return slot->device;
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
