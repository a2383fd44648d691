// Unit tests of src/core/device_kinds.cc: the kinds the backend folders register.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <string>

#include "core/device_kinds.h"
#include "core/device_spec.h"

namespace {

using asynccrypt::DeviceKinds;

TEST(DeviceKinds, EveryFolderRegisteredItsKindInTheBuildOrder) {
  EXPECT_EQ(DeviceKinds::instance().names(), "sim, threads, chaos, dpdk, pkcs11");
}

TEST(DeviceKinds, CreatesARegisteredKind) {
  auto device = DeviceKinds::instance().create(asynccrypt::DeviceSpec{"sim", {}});
  ASSERT_TRUE(device.is_ok()) << device.status().message();
  EXPECT_STREQ(device.value()->kind(), "sim");
}

TEST(DeviceKinds, AnUnknownKindNamesTheKnownOnes) {
  auto device = DeviceKinds::instance().create(asynccrypt::DeviceSpec{"warpdrive", {}});
  ASSERT_FALSE(device.is_ok());
  EXPECT_EQ(device.status().code(), BAD_FUNC_ARG);
  EXPECT_EQ(device.status().message(),
            "unknown device kind 'warpdrive' (known: sim, threads, chaos, dpdk, pkcs11)");
}

TEST(DeviceKinds, TheKindsFactoryParsesItsOwnOptions) {
  auto device = DeviceKinds::instance().create(asynccrypt::DeviceSpec{"sim", {{"colour", "red"}}});
  ASSERT_FALSE(device.is_ok());
  EXPECT_EQ(device.status().code(), BAD_FUNC_ARG);
  EXPECT_NE(device.status().message().find("colour"), std::string::npos);
}

}  // namespace
