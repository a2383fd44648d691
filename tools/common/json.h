// JSON output of the tools and bench/ (nlohmann/json): numbers at the
// precision the tools report, and text that never throws.
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace asynccrypt::json {

// Json keeps members in the order they are set, the order readers have
// always seen.
using Json = nlohmann::ordered_json;

// fixed returns v rounded to `decimals` places (the tools' printf precision
// before nlohmann/json, which prints the shortest exact form of a double);
// NaN and infinity, which JSON lacks, become 0.
inline double fixed(double v, int decimals) {
  if (!std::isfinite(v)) return 0.0;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

// to_text returns value as JSON text: on one line with indent -1, else
// indented by `indent` spaces. Invalid UTF-8 in a string (an error message,
// a device spec) becomes U+FFFD instead of an exception.
inline std::string to_text(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace asynccrypt::json
