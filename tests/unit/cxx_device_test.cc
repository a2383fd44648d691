// Tests of include/asynccrypt/device.h: opening from a spec or the environment, accessors,
// failures, move semantics and closing twice.
#include <wolfssl/options.h>

#include <gtest/gtest.h>
#include <pthread.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "asynccrypt/device.h"

namespace {

using asynccrypt::DeviceHandle;

// The kind of an open id, or "" when the id is not open.
std::string kind_of(int id) {
  char buf[32] = {};
  return asynccrypt_DevKind(id, buf, sizeof buf) == 0 ? std::string(buf) : std::string();
}

// Sets ASYNCCRYPT_DEVICE for one test and puts the old value back. The
// environment is not thread-safe; nothing else runs while a test does.
class ScopedDeviceEnv {
 public:
  explicit ScopedDeviceEnv(const char* value) {
    const char* old = std::getenv(kName);  // NOLINT(concurrency-mt-unsafe)
    if (old != nullptr) old_ = old;
    setenv(kName, value, 1);  // NOLINT(concurrency-mt-unsafe)
  }
  ~ScopedDeviceEnv() {
    if (old_) {
      setenv(kName, old_->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      unsetenv(kName);  // NOLINT(concurrency-mt-unsafe)
    }
  }
  ScopedDeviceEnv(const ScopedDeviceEnv&) = delete;
  ScopedDeviceEnv& operator=(const ScopedDeviceEnv&) = delete;

 private:
  static constexpr const char* kName = "ASYNCCRYPT_DEVICE";
  std::optional<std::string> old_;
};

TEST(CxxDevice, DefaultIsEmpty) {
  DeviceHandle d;
  EXPECT_FALSE(d);
  EXPECT_FALSE(d.is_open());
  EXPECT_EQ(d.id(), INVALID_DEVID);
  d.close();  // harmless
  EXPECT_EQ(d.id(), INVALID_DEVID);
}

TEST(CxxDevice, OpensFromASpecAndReportsKindStatsAndCapabilities) {
  for (const char* spec : {"sim", "sim:skip=3", "threads:workers=1", "chaos:seed=1"}) {
    SCOPED_TRACE(spec);
    auto d = DeviceHandle::open(spec);
    ASSERT_TRUE(d) << d.error().describe();
    EXPECT_TRUE(d->is_open());
    EXPECT_GE(d->id(), 0);
    const std::string spec_kind = std::string(spec).substr(0, std::string(spec).find(':'));
    auto kind = d->kind();
    ASSERT_TRUE(kind) << kind.error().describe();
    EXPECT_EQ(*kind, spec_kind);
    auto stats = d->stats();
    ASSERT_TRUE(stats) << stats.error().describe();
    EXPECT_EQ(stats->submitted, 0u);
    EXPECT_EQ(stats->in_flight, 0u);
    auto caps = d->capabilities();
    ASSERT_TRUE(caps) << caps.error().describe();
    EXPECT_NE(*caps & ASYNCCRYPT_CAP(ASYNC_SW_RSA_FUNC), 0u) << "software devices run every type";
  }
}

TEST(CxxDevice, BadSpecFailsWithTheCodeAndTheExplanation) {
  auto unknown = DeviceHandle::open("nosuchkind");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), BAD_FUNC_ARG);
  EXPECT_NE(unknown.error().message().find("nosuchkind"), std::string::npos)
      << unknown.error().message();
  EXPECT_NE(unknown.error().message().find("threads"), std::string::npos)
      << "asynccrypt_LastError lists the known kinds: " << unknown.error().message();

  auto bad_option = DeviceHandle::open("threads:speed=3");
  ASSERT_FALSE(bad_option);
  EXPECT_EQ(bad_option.error().code(), BAD_FUNC_ARG);
  EXPECT_NE(bad_option.error().message().find("speed"), std::string::npos)
      << bad_option.error().message();
}

TEST(CxxDevice, EmptySpecOpensTheDefaultFromTheEnvironment) {
  ScopedDeviceEnv env("chaos:seed=5");
  auto d = DeviceHandle::open("");
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_EQ(*d->kind(), "chaos");
  auto again = DeviceHandle::open_default();
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->id(), d->id()) << "the default device is shared";
  again->close();
  EXPECT_EQ(kind_of(d->id()), "chaos") << "still open: one close per open";
}

TEST(CxxDevice, BadDefaultFailsWithAsyncInitE) {
  ScopedDeviceEnv env("nosuchkind");
  auto d = DeviceHandle::open_default();
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ASYNC_INIT_E);
  EXPECT_NE(d.error().message().find("nosuchkind"), std::string::npos) << d.error().message();
}

TEST(CxxDevice, OpensForAThread) {
  auto d = DeviceHandle::open_for_thread("threads:workers=1", pthread_self());
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_EQ(*d->kind(), "threads");
  auto bad = DeviceHandle::open_for_thread("threads:workers=0", pthread_self());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), BAD_FUNC_ARG);
  EXPECT_NE(bad.error().message().find("workers"), std::string::npos) << bad.error().message();
  ScopedDeviceEnv env("sim");
  auto deflt = DeviceHandle::open_for_thread("", pthread_self());
  ASSERT_TRUE(deflt) << deflt.error().describe();
  EXPECT_EQ(*deflt->kind(), "sim");
}

TEST(CxxDevice, AccessorsOfAClosedOrUnknownIdFailWithNoValidDevid) {
  DeviceHandle empty;
  ASSERT_FALSE(empty.kind());
  EXPECT_EQ(empty.kind().error().code(), NO_VALID_DEVID);
  EXPECT_EQ(empty.stats().error().code(), NO_VALID_DEVID);
  EXPECT_EQ(empty.capabilities().error().code(), NO_VALID_DEVID);

  // An id asynccrypt never handed out, adopted: nothing to report or close.
  DeviceHandle unknown = DeviceHandle::adopt(4000);
  EXPECT_EQ(unknown.stats().error().code(), NO_VALID_DEVID);
  EXPECT_NE(unknown.stats().error().message().find("4000"), std::string::npos);
  unknown.close();  // wolfAsync_DevClose ignores unknown ids
  EXPECT_EQ(unknown.id(), INVALID_DEVID);
}

TEST(CxxDevice, DestructorCloses) {
  int id = INVALID_DEVID;
  {
    auto d = DeviceHandle::open("sim");
    ASSERT_TRUE(d);
    id = d->id();
    EXPECT_EQ(kind_of(id), "sim");
  }
  EXPECT_EQ(kind_of(id), "");
}

TEST(CxxDevice, MoveConstructionTransfersOwnership) {
  auto opened = DeviceHandle::open("sim");
  ASSERT_TRUE(opened);
  DeviceHandle a = std::move(opened).value();
  const int id = a.id();
  DeviceHandle b(std::move(a));
  EXPECT_EQ(a.id(), INVALID_DEVID);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.id(), id);
  a.close();  // closing the moved-from handle leaves the device open
  EXPECT_EQ(kind_of(id), "sim");
  std::vector<DeviceHandle> devices;
  devices.push_back(std::move(b));
  EXPECT_EQ(devices[0].id(), id);
  devices.clear();
  EXPECT_EQ(kind_of(id), "");
}

TEST(CxxDevice, MoveAssignmentClosesTheOldDevice) {
  auto first = DeviceHandle::open("sim");
  auto second = DeviceHandle::open("threads:workers=1");
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  const int first_id = first->id();
  const int second_id = second->id();
  *first = std::move(*second);
  EXPECT_EQ(first->id(), second_id);
  EXPECT_EQ(second->id(), INVALID_DEVID);
  EXPECT_EQ(kind_of(first_id), "") << "the overwritten device was closed";
  EXPECT_EQ(kind_of(second_id), "threads");
  DeviceHandle& self = *first;
  *first = std::move(self);  // self-move keeps the device
  EXPECT_EQ(first->id(), second_id);
  EXPECT_EQ(kind_of(second_id), "threads");
}

// Slots are reused: a handle closed twice must not close the device that
// got its old slot in between (its id carries a new generation).
TEST(CxxDevice, DoubleCloseNeverClosesAnotherDevice) {
  auto a = DeviceHandle::open("sim");
  ASSERT_TRUE(a);
  const int id = a->id();
  a->close();
  EXPECT_EQ(a->id(), INVALID_DEVID);
  auto b = DeviceHandle::open("chaos:seed=2");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id() % 4096, id % 4096) << "the registry reuses the lowest free slot";
  EXPECT_NE(b->id(), id) << "with a new generation";
  a->close();
  EXPECT_EQ(kind_of(b->id()), "chaos");
}

TEST(CxxDevice, AdoptAndRelease) {
  int raw = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&raw, "sim", nullptr), 0);
  DeviceHandle d = DeviceHandle::adopt(raw);
  EXPECT_EQ(d.id(), raw);
  int back = d.release();
  EXPECT_EQ(back, raw);
  EXPECT_EQ(d.id(), INVALID_DEVID);
  d.close();
  EXPECT_EQ(kind_of(raw), "sim") << "released: the caller owns it now";
  wolfAsync_DevClose(&back);
  EXPECT_EQ(kind_of(raw), "");
  EXPECT_FALSE(DeviceHandle::adopt(INVALID_DEVID));
}

}  // namespace
