// Tests of tools/common/numbers.h: whole arguments within a range, and the
// reasons given for everything else.
#include "common/numbers.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace {

namespace cli = asynccrypt::cli;
using cli::LowerBound;

TEST(ParseInteger, TakesWholeNumbersWithinTheRange) {
  EXPECT_EQ(cli::parse_integer("0", 0, 10).value, 0);
  EXPECT_EQ(cli::parse_integer("10", 0, 10).value, 10);  // both bounds are in
  EXPECT_EQ(cli::parse_integer("+7", 0, 10).value, 7);
  EXPECT_EQ(cli::parse_integer("-3", -5, 5).value, -3);
  EXPECT_EQ(cli::parse_integer("007", 0, 10).value, 7);  // decimal, not octal
  const cli::Parsed<long long> big = cli::parse_integer("9223372036854775807", 1, LLONG_MAX);
  ASSERT_TRUE(big.ok()) << big.error;
  EXPECT_EQ(big.value, LLONG_MAX);
  EXPECT_TRUE(cli::parse_integer("5", 0, 10).error.empty());
}

TEST(ParseInteger, RejectsWhatIsNotAWholeNumber) {
  for (const char* text : {"12abc", "abc", "1.5", "1e3", "0x10", " 5", "5 ", "+", "-", "--5"}) {
    const cli::Parsed<long long> p = cli::parse_integer(text, 0, 1 << 20);
    EXPECT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.error, "'" + std::string(text) + "' is not a whole number") << text;
  }
  const cli::Parsed<long long> empty = cli::parse_integer("", 0, 10);
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.error, "the value is empty");
}

TEST(ParseInteger, RejectsValuesOutsideTheRange) {
  EXPECT_EQ(cli::parse_integer("11", 0, 10).error, "'11' is out of range 0..10");
  EXPECT_EQ(cli::parse_integer("-1", 0, 10).error, "'-1' is out of range 0..10");
  EXPECT_EQ(cli::parse_integer("70000", 1, 65535).error, "'70000' is out of range 1..65535");
  // Beyond long long: strtoll's ERANGE, not a wrapped value.
  EXPECT_EQ(cli::parse_integer("99999999999999999999", 0, LLONG_MAX).error,
            "'99999999999999999999' is out of range 0..9223372036854775807");
  EXPECT_FALSE(cli::parse_integer("-99999999999999999999", LLONG_MIN, 0));
}

TEST(ParseInteger, ReadsOnlyTheViewItIsGiven) {
  // A list item is a view into a longer string: the rest is not read.
  const std::string list = "12,34";
  EXPECT_EQ(cli::parse_integer(std::string_view(list).substr(0, 2), 0, 100).value, 12);
}

TEST(ParseInt, FitsAnInt) {
  EXPECT_EQ(cli::parse_int("1024", 1, 1024).value, 1024);
  EXPECT_EQ(cli::parse_int(std::to_string(INT_MAX), 0, INT_MAX).value, INT_MAX);
  EXPECT_EQ(cli::parse_int("2147483648", 0, INT_MAX).error,
            "'2147483648' is out of range 0..2147483647");
  EXPECT_EQ(cli::parse_int("4x", 1, 8).error, "'4x' is not a whole number");
}

TEST(ParseDouble, TakesDecimalNumbersWithinTheRange) {
  EXPECT_DOUBLE_EQ(cli::parse_double("0.05", 0, 3600).value, 0.05);
  EXPECT_DOUBLE_EQ(cli::parse_double("3600", 0, 3600).value, 3600);
  EXPECT_DOUBLE_EQ(cli::parse_double(".5", 0, 1).value, 0.5);
  EXPECT_DOUBLE_EQ(cli::parse_double("1e2", 0, 3600).value, 100);
  EXPECT_DOUBLE_EQ(cli::parse_double("-2.5", -3, 0).value, -2.5);
  EXPECT_DOUBLE_EQ(cli::parse_double("0", 0, 1).value, 0);  // inclusive by default
}

TEST(ParseDouble, RejectsWhatIsNotADecimalNumber) {
  for (const char* text : {"1.0s", "abc", "nan", "inf", "-inf", "0x1p3", " 1", "1 ", ".", "e5"}) {
    const cli::Parsed<double> p = cli::parse_double(text, -1e9, 1e9);
    EXPECT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.error, "'" + std::string(text) + "' is not a decimal number") << text;
  }
  EXPECT_EQ(cli::parse_double("", 0, 1).error, "the value is empty");
}

TEST(ParseDouble, RejectsValuesOutsideTheRange) {
  EXPECT_EQ(cli::parse_double("0", 0, 3600, LowerBound::kExclusive).error,
            "'0' is out of range (0, 3600]");
  EXPECT_EQ(cli::parse_double("-0.0", 0, 3600, LowerBound::kExclusive).error,
            "'-0.0' is out of range (0, 3600]");
  EXPECT_EQ(cli::parse_double("3600.5", 0, 3600).error, "'3600.5' is out of range [0, 3600]");
  EXPECT_EQ(cli::parse_double("1e999", 0, 3600).error, "'1e999' is out of range [0, 3600]");
  EXPECT_TRUE(cli::parse_double("1e-9", 0, 3600, LowerBound::kExclusive).ok());
}

}  // namespace
