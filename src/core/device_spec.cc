// Parsing of device specs: kind, then comma-separated key=value options.
#include "core/device_spec.h"

#include <cerrno>
#include <cstdlib>

#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

Status bad(std::string message) { return Status(BAD_FUNC_ARG, std::move(message)); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<DeviceSpec> parse_device_spec(std::string_view text) {
  DeviceSpec spec;
  text = trim(text);
  const auto colon = text.find(':');
  spec.kind = std::string(trim(text.substr(0, colon)));
  if (spec.kind.empty()) return bad("device spec has no kind");
  if (colon == std::string_view::npos) return spec;

  std::string_view rest = text.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key(trim(item.substr(0, eq)));
    const std::string value(eq == std::string_view::npos ? "" : trim(item.substr(eq + 1)));
    if (key.empty())
      return bad("device spec '" + std::string(text) + "' has an option with no name");
    if (!spec.options.emplace(key, value).second) {
      return bad("device spec option '" + key + "' is given twice");
    }
  }
  return spec;
}

Result<long> DeviceSpec::take_int(const std::string& key, long fallback, long min, long max) {
  const auto it = options.find(key);
  if (it == options.end()) return fallback;
  const std::string value = it->second;
  options.erase(it);
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || parsed < min || parsed > max) {
    return bad("device option " + kind + ":" + key + "='" + value + "' must be an integer in [" +
               std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return parsed;
}

Result<std::string> DeviceSpec::take_string(const std::string& key) {
  const auto it = options.find(key);
  if (it == options.end()) return std::string();
  std::string value = it->second;
  options.erase(it);
  if (value.empty()) return bad("device option " + kind + ":" + key + " needs a value");
  return value;
}

Status DeviceSpec::check_all_taken() const {
  if (options.empty()) return Status::ok();
  return bad("unknown option '" + options.begin()->first + "' for device kind '" + kind + "'");
}

}  // namespace asynccrypt
