// Validated numbers from the command line, one definition for the perf
// tools and `asynccrypt bench`: the whole argument or nothing, within a range.
#pragma once

#include <string>
#include <string_view>

namespace asynccrypt::cli {

// Parsed is a number read from an argument, or why there is none. A tool
// prints its own message for the option and appends error, so a user sees
// both which option was wrong and what was wrong with the value.
template <typename T>
struct [[nodiscard]] Parsed {
  T value{};
  std::string error;  // "" on success, else e.g. "'12abc' is not a whole number"

  bool ok() const { return error.empty(); }
  explicit operator bool() const { return ok(); }
};

// parse_integer reads the whole of text as a decimal integer within
// [lo, hi]. An optional sign is taken; anything else that strtoll would
// skip or stop at (leading space, "12abc", "0x10", "") is an error, as is a
// value outside the range or outside long long.
Parsed<long long> parse_integer(std::string_view text, long long lo, long long hi);

// parse_int is parse_integer for an int-sized option.
Parsed<int> parse_int(std::string_view text, int lo, int hi);

// Whether a range's lower bound is a value the option takes.
enum class LowerBound { kInclusive, kExclusive };

// parse_double reads the whole of text as a finite decimal number within
// [lo, hi] (or (lo, hi] with LowerBound::kExclusive, for "more than 0").
// NaN, infinities, hexadecimal floats, leading space, trailing characters
// and "" are errors.
Parsed<double> parse_double(std::string_view text, double lo, double hi,
                            LowerBound lower = LowerBound::kInclusive);

}  // namespace asynccrypt::cli
