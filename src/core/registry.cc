// The device registry and the hardware start/stop reference count.
#include "core/registry.h"

#include <cstdio>
#include <cstdlib>

#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

// Device ids stay small: wolfSSL stores them in an int and users print them.
constexpr int kMaxDevices = 4096;

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
      slots_[i] = Slot{std::move(device), 1};
      return static_cast<int>(i);
    }
  }
  if (slots_.size() >= kMaxDevices) return -1;
  slots_.push_back(Slot{std::move(device), 1});
  return static_cast<int>(slots_.size() - 1);
}

Result<int> Registry::open_default() {
  std::lock_guard lock(mu_);
  if (default_id_ >= 0) {
    ++slots_[static_cast<std::size_t>(slot_locked(default_id_))].opens;
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

Result<int> Registry::add_and_attach(std::shared_ptr<Device> device) {
  int slot = -1;
  {
    std::lock_guard lock(mu_);
    slot = add_locked(device);
  }
  if (slot < 0) return Status(ASYNC_INIT_E, "too many open devices");
  const int id = device->id_base() + slot;
  // Outside mu_: attach may call into wolfSSL (crypto callback table).
  if (Status s = device->attach(id); !s.is_ok()) {
    std::lock_guard lock(mu_);
    slots_[static_cast<std::size_t>(slot)] = Slot{};
    return s;
  }
  return id;
}

int Registry::slot_locked(int dev_id) const {
  int slot = dev_id;
  int base = 0;
  if (dev_id >= Device::kCallbackIdBase && dev_id < Device::kCallbackIdBase + kMaxDevices) {
    base = Device::kCallbackIdBase;
    slot = dev_id - base;
  }
  if (slot < 0 || static_cast<std::size_t>(slot) >= slots_.size()) return -1;
  const Slot& s = slots_[static_cast<std::size_t>(slot)];
  if (!s.device || s.device->id_base() != base) return -1;
  return slot;
}

Result<int> Registry::adopt(std::shared_ptr<Device> device) {
  if (!device) return Status(BAD_FUNC_ARG, "no device to adopt");
  return add_and_attach(std::move(device));
}

void Registry::close(int dev_id) {
  std::shared_ptr<Device> released;  // destroyed outside the lock
  {
    std::lock_guard lock(mu_);
    const int index = slot_locked(dev_id);
    if (index < 0) return;
    Slot& slot = slots_[static_cast<std::size_t>(index)];
    if (--slot.opens > 0) return;
    // Before the slot is free: a device opened next at the same id must
    // not be detached by this one.
    slot.device->detach(dev_id);
    released = std::move(slot.device);
    slot = Slot{};
    if (dev_id == default_id_) default_id_ = -1;
  }
}

std::shared_ptr<Device> Registry::find(int dev_id) {
  std::lock_guard lock(mu_);
  const int index = slot_locked(dev_id);
  if (index < 0) return nullptr;
  return slots_[static_cast<std::size_t>(index)].device;
}

std::shared_ptr<Device> Registry::find_or_fallback(int dev_id) {
  std::lock_guard lock(mu_);
  if (const int index = slot_locked(dev_id); index >= 0) {
    return slots_[static_cast<std::size_t>(index)].device;
  }
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

void Registry::hardware_stop() {
  std::lock_guard lock(mu_);
  if (hardware_count_ > 0) --hardware_count_;
}

int Registry::hardware_count() {
  std::lock_guard lock(mu_);
  return hardware_count_;
}

}  // namespace asynccrypt
