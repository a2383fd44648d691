// Unit tests of src/core/registry.cc: ids, closes, and the lookup that a
// thread repeats for every operation (find() without the mutex when nothing
// was closed since the thread's last lookup).
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/registry.h"

namespace {

using asynccrypt::Device;
using asynccrypt::Registry;
using asynccrypt::Status;

// A device that completes nothing; enough to sit in the registry.
class IdleDevice : public Device {
 public:
  const char* kind() const override { return "idle"; }
  bool runs_on_poll() const override { return true; }
  asynccrypt::Admission submit(asynccrypt::Op* /*op*/,
                               asynccrypt::CompletionSink& /*sink*/) override {
    return asynccrypt::Admission::kPolled;
  }
};

// A device that takes ids of its own (kCallbackIdBase + slot, without a
// generation, so a closed id comes back for the next such device).
class CallbackIdDevice : public IdleDevice {
 public:
  int id_base() const override { return kCallbackIdBase; }
};

// A device whose attach looks itself up (which caches the lookup on this
// thread) and then fails, so the registry empties its slot again.
class FailingAttachDevice : public IdleDevice {
 public:
  Status attach(int dev_id) override {
    attached_id = dev_id;
    seen_during_attach = Registry::instance().find(dev_id) != nullptr;
    return Status(WC_HW_E, "attach refused");
  }
  int attached_id = -1;
  bool seen_during_attach = false;
};

int adopt(const std::shared_ptr<Device>& device) {
  auto id = Registry::instance().adopt(device);
  EXPECT_TRUE(id.is_ok()) << id.status().message();
  return id.is_ok() ? id.value() : -1;
}

TEST(RegistryFind, RepeatedLookupsReturnTheDevice) {
  auto device = std::make_shared<IdleDevice>();
  const int id = adopt(device);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Registry::instance().find(id), device);
  EXPECT_EQ(Registry::instance().close(id), 0);
}

TEST(RegistryFind, AlternatingIdsEachFindTheirOwnDevice) {
  auto first = std::make_shared<IdleDevice>();
  auto second = std::make_shared<IdleDevice>();
  const int a = adopt(first);
  const int b = adopt(second);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Registry::instance().find(a), first);
    EXPECT_EQ(Registry::instance().find(b), second);
  }
  Registry::instance().close(a);
  Registry::instance().close(b);
}

TEST(RegistryFind, AfterCloseOnTheSameThreadFindsNothing) {
  auto device = std::make_shared<IdleDevice>();
  const int id = adopt(device);
  ASSERT_EQ(Registry::instance().find(id), device);  // this thread's last lookup
  Registry::instance().close(id);
  // The device is still alive (held here), so only the close tells.
  EXPECT_EQ(Registry::instance().find(id), nullptr);
}

TEST(RegistryFind, AfterAnotherThreadClosesFindsNothing) {
  auto device = std::make_shared<IdleDevice>();
  const int id = adopt(device);
  ASSERT_EQ(Registry::instance().find(id), device);
  std::thread closer([id] { Registry::instance().close(id); });
  closer.join();
  EXPECT_EQ(Registry::instance().find(id), nullptr);
}

TEST(RegistryFind, ACachedLookupDoesNotKeepAClosedDeviceAlive) {
  std::weak_ptr<Device> weak;
  int id = -1;
  {
    auto device = std::make_shared<IdleDevice>();
    weak = device;
    id = adopt(device);
    ASSERT_EQ(Registry::instance().find(id), device);
  }
  Registry::instance().close(id);
  EXPECT_TRUE(weak.expired());
}

TEST(RegistryFind, AReusedCallbackIdNamesTheNewDevice) {
  auto old_device = std::make_shared<CallbackIdDevice>();
  const int id = adopt(old_device);
  ASSERT_GE(id, Device::kCallbackIdBase);
  ASSERT_EQ(Registry::instance().find(id), old_device);
  Registry::instance().close(id);
  auto new_device = std::make_shared<CallbackIdDevice>();
  ASSERT_EQ(adopt(new_device), id);  // the same slot, the same id
  EXPECT_EQ(Registry::instance().find(id), new_device);
  Registry::instance().close(id);
}

TEST(RegistryFind, AFailedAttachLeavesNothingToFind) {
  auto device = std::make_shared<FailingAttachDevice>();
  auto id = Registry::instance().adopt(device);
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), WC_HW_E);
  ASSERT_TRUE(device->seen_during_attach);
  // Still alive (held here), and this thread's last lookup was its id.
  EXPECT_EQ(Registry::instance().find(device->attached_id), nullptr);
}

TEST(RegistryFind, UnknownAndNegativeIdsFindNothing) {
  EXPECT_EQ(Registry::instance().find(-1), nullptr);
  EXPECT_EQ(Registry::instance().find(INVALID_DEVID), nullptr);
  EXPECT_EQ(Registry::instance().find(4095), nullptr);
  EXPECT_EQ(Registry::instance().find(Device::kCallbackIdBase + 4095), nullptr);
}

// Readers look ids up while the main thread opens and closes devices: a
// lookup that starts after a close has returned never finds that device.
// Each device stays open until a reader has found it (so the readers' next
// lookups of it come from their cache, whatever the machine's speed). Runs
// under ThreadSanitizer too (the unit label).
TEST(RegistryFind, LookupsRacingClosesNeverFindAClosedDevice) {
  constexpr int kDevices = 300;
  constexpr int kReaders = 3;
  std::vector<int> ids(kDevices, -1);
  std::atomic<int> opened{0};  // ids[0..opened) are set
  std::atomic<int> closed{0};  // ids[0..closed) have been closed
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  std::atomic<long> hits{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      while (!done.load(std::memory_order_acquire)) {
        const int n = opened.load(std::memory_order_acquire);
        if (n == 0) continue;
        // The newest device (often found, repeatedly, from the cache) and
        // the newest closed one (must never be found).
        const int c = closed.load(std::memory_order_acquire);
        if (Registry::instance().find(ids[n - 1]) != nullptr) hits.fetch_add(1);
        if (c > 0 && Registry::instance().find(ids[c - 1]) != nullptr) violations.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < kDevices; ++i) {
    ids[i] = adopt(std::make_shared<IdleDevice>());
    const long hits_before = hits.load();
    opened.store(i + 1, std::memory_order_release);
    while (hits.load() < hits_before + kReaders) std::this_thread::yield();
    Registry::instance().close(ids[i]);
    closed.store(i + 1, std::memory_order_release);
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
}

}  // namespace
