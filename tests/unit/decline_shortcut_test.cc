// DeclineShortcut and engine::declines' per-thread cache of it: an operation
// the device surely declines is declined without finding the device, counted
// in the calling thread's tally, and never after the device is closed.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/decline_shortcut.h"
#include "core/device.h"
#include "core/engine.h"
#include "core/registry.h"

namespace {

using asynccrypt::DeclineShortcut;
using asynccrypt::Device;
using asynccrypt::Registry;

// A type every build has and that no device-independent rule keeps from
// being declined (wolfcrypt::can_decline).
constexpr int kType = ASYNC_SW_AES_GCM_ENCRYPT;

// A shortcut that answers what the test says and counts the questions.
class ToldShortcut final : public DeclineShortcut {
 public:
  bool surely_declines(const WC_ASYNC_DEV* /*dev*/, int /*type*/) const override {
    asked.fetch_add(1);
    return sure.load();
  }
  mutable std::atomic<int> asked{0};
  std::atomic<bool> sure{true};
};

// A device that declines everything, counting how often it was asked.
class DecliningDevice final : public Device {
 public:
  const char* kind() const override { return "declining"; }
  bool runs_on_poll() const override { return true; }
  asynccrypt::Admission submit(asynccrypt::Op* /*op*/,
                               asynccrypt::CompletionSink& /*sink*/) override {
    return asynccrypt::Admission::kPolled;
  }
  bool declines(const WC_ASYNC_DEV* /*dev*/, int /*type*/) override {
    asked.fetch_add(1);
    return true;
  }
  std::shared_ptr<DeclineShortcut> decline_shortcut() const override { return shortcut; }

  std::atomic<int> asked{0};
  std::shared_ptr<ToldShortcut> shortcut = std::make_shared<ToldShortcut>();
};

// The device adopted into the registry, closed at the end.
struct Adopted {
  Adopted() {
    auto adopted = Registry::instance().adopt(device);
    EXPECT_TRUE(adopted.is_ok());
    id = adopted.is_ok() ? adopted.value() : INVALID_DEVID;
    record.devId = id;
  }
  ~Adopted() { close(); }
  Adopted(const Adopted&) = delete;
  Adopted& operator=(const Adopted&) = delete;
  void close() {
    if (open) Registry::instance().close(id);
    open = false;
  }
  bool declines() { return asynccrypt::engine::declines(&record, kType); }
  word64 declined() const {
    asynccrypt_DevStats stats{};
    EXPECT_EQ(asynccrypt_DevGetStats(id, &stats), 0);
    return stats.declined;
  }

  std::shared_ptr<DecliningDevice> device = std::make_shared<DecliningDevice>();
  int id = INVALID_DEVID;
  bool open = true;
  WC_ASYNC_DEV record{};
};

TEST(DeclineShortcut, ASureAnswerSkipsTheDeviceAndStillCounts) {
  Adopted a;
  ASSERT_NE(a.id, INVALID_DEVID);
  EXPECT_TRUE(a.declines()) << "the first look finds the device and asks it";
  EXPECT_EQ(a.device->asked.load(), 1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(a.declines());
  EXPECT_EQ(a.device->asked.load(), 1) << "the shortcut answered";
  EXPECT_EQ(a.device->shortcut->asked.load(), 10);
  EXPECT_EQ(a.declined(), 11u) << "device counter plus this thread's tally";
}

TEST(DeclineShortcut, WhenTheShortcutIsUnsureTheDeviceDecides) {
  Adopted a;
  ASSERT_NE(a.id, INVALID_DEVID);
  a.device->shortcut->sure = false;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(a.declines());
  EXPECT_EQ(a.device->asked.load(), 5);
  EXPECT_EQ(a.declined(), 5u);
}

TEST(DeclineShortcut, AClosedDevicesShortcutIsNeverAskedAgain) {
  Adopted a;
  ASSERT_NE(a.id, INVALID_DEVID);
  EXPECT_TRUE(a.declines());
  EXPECT_TRUE(a.declines());
  const int asked = a.device->shortcut->asked.load();
  a.close();
  // The cache still holds the shortcut, but a slot was emptied since.
  EXPECT_FALSE(a.declines()) << "no device behind the id: nothing declines";
  EXPECT_EQ(a.device->shortcut->asked.load(), asked);
}

TEST(DeclineShortcut, AnotherDevicesCloseOnlyCostsOneLookup) {
  Adopted a;
  ASSERT_NE(a.id, INVALID_DEVID);
  EXPECT_TRUE(a.declines());
  EXPECT_TRUE(a.declines());
  {
    Adopted other;  // opened and closed: the cache no longer holds
  }
  EXPECT_TRUE(a.declines());
  EXPECT_EQ(a.device->asked.load(), 2) << "one more look at the device";
  EXPECT_TRUE(a.declines());
  EXPECT_EQ(a.device->asked.load(), 2) << "then the shortcut again";
  EXPECT_EQ(a.declined(), 4u);
}

TEST(DeclineShortcut, EveryThreadsDeclinesAddUp) {
  Adopted a;
  ASSERT_NE(a.id, INVALID_DEVID);
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&a] {
      WC_ASYNC_DEV record{};
      record.devId = a.id;
      for (int i = 0; i < kEach; ++i) EXPECT_TRUE(asynccrypt::engine::declines(&record, kType));
    });
  }
  for (auto& thread : threads) thread.join();
  // Each thread's first look went to the device; everything counts once,
  // including what ended threads left in their tallies.
  EXPECT_EQ(a.device->asked.load(), kThreads);
  EXPECT_EQ(a.declined(), static_cast<word64>(kThreads * kEach));
}

TEST(DeclineShortcutTally, OnePerThread) {
  ToldShortcut shortcut;
  const auto mine = shortcut.tally_for_this_thread();
  EXPECT_EQ(shortcut.tally_for_this_thread(), mine) << "the same thread, the same tally";
  std::shared_ptr<DeclineShortcut::Tally> theirs;
  std::thread([&] {
    theirs = shortcut.tally_for_this_thread();
    for (int i = 0; i < 3; ++i) theirs->add_one();
  }).join();
  EXPECT_NE(theirs, mine);
  mine->add_one();
  EXPECT_EQ(mine->value(), 1u);
  EXPECT_EQ(shortcut.declined(), 4u);
}

TEST(DeclineShortcutTally, NothingDeclinedIsZero) {
  ToldShortcut shortcut;
  EXPECT_EQ(shortcut.declined(), 0u);
}

}  // namespace
