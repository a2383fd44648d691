// Parsing of device specs such as "threads:workers=4,depth=256".
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace asynccrypt {

// DeviceSpec is a device kind and its options, as written in
// ASYNCCRYPT_DEVICE or given to asynccrypt_DevOpenSpec.
struct DeviceSpec {
  std::string kind;
  std::map<std::string, std::string> options;

  // Removes and returns option `key` as an integer in [min, max], or
  // `fallback` when absent. A malformed or out-of-range value fails.
  Result<long> take_int(const std::string& key, long fallback, long min, long max);
  // Removes and returns option `key` as text, or "" when absent. A present
  // but empty value fails (a path or a label cannot be empty).
  Result<std::string> take_string(const std::string& key);
  // Fails naming the first option no one took.
  Status check_all_taken() const;
};

// Parses "kind" or "kind:key=value,key=value". Fails with BAD_FUNC_ARG and a
// message on empty kinds, empty keys, or repeated keys.
Result<DeviceSpec> parse_device_spec(std::string_view text);

}  // namespace asynccrypt
