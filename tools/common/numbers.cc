// The parsing behind numbers.h: strtoll and strtod, checked for the whole
// argument, errno and the range.
#include "common/numbers.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace asynccrypt::cli {
namespace {

// Strings here are built by appending: g++ 12 at -O3 warns falsely
// (-Wrestrict, its bug 105651) on a literal + a temporary std::string.
std::string quoted(std::string_view text) {
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

// starts_like_number: strtoll and strtod skip leading white space, and
// strtod also takes "inf", "nan" and hex floats; an option value is only
// digits with an optional sign (and, for a double, a point and exponent).
bool starts_like_number(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  if (i < text.size() && text[i] == '.') ++i;
  return i < text.size() && text[i] >= '0' && text[i] <= '9';
}

bool is_hex(std::string_view text) {
  const std::size_t i = !text.empty() && (text[0] == '+' || text[0] == '-') ? 1 : 0;
  return text.size() > i + 1 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X');
}

// The shortest text of a bound ("3600", "0.5", "1e+300").
std::string bound_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Parsed<long long> parse_integer(std::string_view text, long long lo, long long hi) {
  Parsed<long long> out;
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (text.empty()) {
    out.error = "the value is empty";
    return out;
  }
  // strtoll needs a terminated string; text may be a view into a list.
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(copy.c_str(), &end, 10);
  if (!starts_like_number(copy) || end != copy.c_str() + copy.size()) {
    out.error = quoted(text) + " is not a whole number";
    return out;
  }
  if (errno == ERANGE || v < lo || v > hi) {
    out.error = quoted(text) + " is out of range " + range;
    return out;
  }
  out.value = v;
  return out;
}

Parsed<int> parse_int(std::string_view text, int lo, int hi) {
  Parsed<long long> wide = parse_integer(text, lo, hi);
  Parsed<int> out;
  out.value = static_cast<int>(wide.value);  // within [lo, hi] when ok
  out.error = std::move(wide.error);
  return out;
}

Parsed<double> parse_double(std::string_view text, double lo, double hi, LowerBound lower) {
  Parsed<double> out;
  const bool open = lower == LowerBound::kExclusive;
  std::string range = open ? "(" : "[";
  range += bound_text(lo);
  range += ", ";
  range += bound_text(hi);
  range += ']';
  if (text.empty()) {
    out.error = "the value is empty";
    return out;
  }
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (!starts_like_number(copy) || is_hex(copy) || end != copy.c_str() + copy.size()) {
    out.error = quoted(text) + " is not a decimal number";
    return out;
  }
  // ERANGE is also set for an underflow to a tiny value, which the range
  // check judges like any other; an overflow gives HUGE_VAL.
  if (!std::isfinite(v) || v < lo || v > hi || (open && v == lo)) {
    out.error = quoted(text) + " is out of range " + range;
    return out;
  }
  out.value = v;
  return out;
}

}  // namespace asynccrypt::cli
