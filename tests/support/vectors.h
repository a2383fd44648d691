// Test vectors from JSON files (Wycheproof): reading one with nlohmann/json,
// and decoding the hex strings they hold.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace testing_support {

using Json = nlohmann::json;

// read_json_file parses the file at path into *out and returns true; on
// failure (the file cannot be opened, or is not JSON) it returns false with
// *error saying which and why.
inline bool read_json_file(const std::string& path, Json* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  try {
    *out = Json::parse(in);
  } catch (const Json::parse_error& e) {
    *error = path + ": " + e.what();
    return false;
  }
  return true;
}

// Decodes a hex string ("" gives an empty vector); false on bad digits.
inline bool from_hex(const std::string& hex, std::vector<std::uint8_t>* out) {
  out->clear();
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return true;
}

// hex_field decodes a vector's hex field (a JSON string); a field that is
// not hex fails the current test and gives what was decoded before.
inline std::vector<std::uint8_t> hex_field(const Json& field) {
  std::vector<std::uint8_t> out;
  EXPECT_TRUE(from_hex(field.get<std::string>(), &out)) << field;
  return out;
}

}  // namespace testing_support
