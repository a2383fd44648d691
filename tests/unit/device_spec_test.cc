// Unit tests of src/core/device_spec.cc: parsing device specs and taking options.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <string>

#include "core/device_spec.h"

namespace {

using asynccrypt::DeviceSpec;
using asynccrypt::parse_device_spec;

DeviceSpec parse_ok(const char* text) {
  auto spec = parse_device_spec(text);
  EXPECT_TRUE(spec.is_ok()) << text << ": " << spec.status().message();
  return spec.take();
}

TEST(ParseDeviceSpec, KindOnly) {
  DeviceSpec spec = parse_ok("sim");
  EXPECT_EQ(spec.kind, "sim");
  EXPECT_TRUE(spec.options.empty());
}

TEST(ParseDeviceSpec, KindAndOptions) {
  DeviceSpec spec = parse_ok("threads:workers=4,depth=256");
  EXPECT_EQ(spec.kind, "threads");
  ASSERT_EQ(spec.options.size(), 2u);
  EXPECT_EQ(spec.options["workers"], "4");
  EXPECT_EQ(spec.options["depth"], "256");
}

TEST(ParseDeviceSpec, BlanksAroundEveryPartAreIgnored) {
  DeviceSpec spec = parse_ok("  threads :\tworkers = 4 , depth=256\t ");
  EXPECT_EQ(spec.kind, "threads");
  EXPECT_EQ(spec.options["workers"], "4");
  EXPECT_EQ(spec.options["depth"], "256");
}

TEST(ParseDeviceSpec, EmptyItemsAndTrailingColonAreFine) {
  EXPECT_TRUE(parse_ok("sim:").options.empty());
  EXPECT_TRUE(parse_ok("sim:,,").options.empty());
  DeviceSpec spec = parse_ok("sim:,skip=2,");
  ASSERT_EQ(spec.options.size(), 1u);
  EXPECT_EQ(spec.options["skip"], "2");
}

TEST(ParseDeviceSpec, OptionWithoutValueOrWithEquals) {
  DeviceSpec spec = parse_ok("chaos:verbose,seed=a=b,empty=");
  EXPECT_EQ(spec.options["verbose"], "");
  EXPECT_EQ(spec.options["seed"], "a=b");  // only the first '=' splits
  EXPECT_EQ(spec.options["empty"], "");
}

TEST(ParseDeviceSpec, Failures) {
  for (const char* text : {"", "   ", ":", ":skip=1", " :skip=1", "sim:=3", "sim: =3",
                           "sim:skip=1,skip=2", "sim:a=1, a =2"}) {
    auto spec = parse_device_spec(text);
    EXPECT_FALSE(spec.is_ok()) << "'" << text << "'";
    EXPECT_EQ(spec.status().code(), BAD_FUNC_ARG) << "'" << text << "'";
    EXPECT_FALSE(spec.status().message().empty()) << "'" << text << "'";
  }
}

TEST(ParseDeviceSpec, RepeatedKeyIsNamed) {
  auto spec = parse_device_spec("sim:skip=1,skip=2");
  ASSERT_FALSE(spec.is_ok());
  EXPECT_NE(spec.status().message().find("skip"), std::string::npos);
}

TEST(TakeInt, AbsentGivesTheFallback) {
  DeviceSpec spec = parse_ok("sim:other=1");
  auto v = spec.take_int("skip", 17, 0, 100);
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v.value(), 17);
  EXPECT_EQ(spec.options.size(), 1u);  // nothing taken
}

TEST(TakeInt, PresentIsParsedAndRemoved) {
  DeviceSpec spec = parse_ok("sim:skip=4");
  auto v = spec.take_int("skip", 0, 0, 100);
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v.value(), 4);
  EXPECT_TRUE(spec.options.empty());
  // Taken once: a second take sees the fallback.
  auto again = spec.take_int("skip", 9, 0, 100);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again.value(), 9);
}

TEST(TakeInt, BoundsAreInclusive) {
  DeviceSpec spec = parse_ok("x:lo=-5,hi=5");
  auto lo = spec.take_int("lo", 0, -5, 5);
  auto hi = spec.take_int("hi", 0, -5, 5);
  ASSERT_TRUE(lo.is_ok());
  ASSERT_TRUE(hi.is_ok());
  EXPECT_EQ(lo.value(), -5);
  EXPECT_EQ(hi.value(), 5);
}

TEST(TakeInt, MalformedOrOutOfRangeFails) {
  for (const char* value : {"", "abc", "12x", "x12", "1.5", "6", "-6", "0x3",
                            "99999999999999999999999", "-99999999999999999999999"}) {
    DeviceSpec spec = parse_ok((std::string("sim:n=") + value).c_str());
    auto v = spec.take_int("n", 0, -5, 5);
    EXPECT_FALSE(v.is_ok()) << value;
    EXPECT_EQ(v.status().code(), BAD_FUNC_ARG) << value;
    // The message names the option and the allowed range.
    EXPECT_NE(v.status().message().find("sim:n"), std::string::npos) << value;
    EXPECT_NE(v.status().message().find("[-5, 5]"), std::string::npos) << value;
  }
}

TEST(TakeInt, LeadingBlanksAndSignsFollowStrtol) {
  DeviceSpec spec = parse_ok("sim:a=+3,b=-0");
  auto a = spec.take_int("a", 0, 0, 5);
  auto b = spec.take_int("b", 1, 0, 5);
  ASSERT_TRUE(a.is_ok());
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(a.value(), 3);
  EXPECT_EQ(b.value(), 0);
}

TEST(CheckAllTaken, OkWhenEverythingWasTaken) {
  DeviceSpec spec = parse_ok("sim:skip=2");
  EXPECT_FALSE(spec.check_all_taken().is_ok());
  ASSERT_TRUE(spec.take_int("skip", 0, 0, 10).is_ok());
  EXPECT_TRUE(spec.check_all_taken().is_ok());
  EXPECT_TRUE(parse_ok("sim").check_all_taken().is_ok());
}

TEST(CheckAllTaken, NamesALeftoverOptionAndTheKind) {
  DeviceSpec spec = parse_ok("sim:zeta=1");
  const auto status = spec.check_all_taken();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), BAD_FUNC_ARG);
  EXPECT_NE(status.message().find("zeta"), std::string::npos);
  EXPECT_NE(status.message().find("sim"), std::string::npos);
}

}  // namespace
