// Fuzzes device spec strings: the parser, and opening what it accepts.
#include "spec_fuzz.h"

#include "core/wolfssl_api.h"

#include <cstring>
#include <string>

#include "core/device_spec.h"
#include "fuzz_input.h"

namespace asynccrypt::fuzz {
namespace {

std::string written_out(const DeviceSpec& spec) {
  std::string text = spec.kind;
  char separator = ':';
  for (const auto& [key, value] : spec.options) {
    text += separator + key + "=" + value;
    separator = ',';
  }
  return text;
}

// Kinds opened from any options without reaching outside the process
// (no DPDK EAL arguments, no PKCS#11 module path).
bool safe_to_open(const DeviceSpec& spec) {
  if (spec.kind == "sim" || spec.kind == "threads") return true;
  if (spec.kind != "chaos") return false;
  const auto over = spec.options.find("over");
  return over == spec.options.end() || over->second == "threads";
}

void check_open(const std::string& text, const DeviceSpec& spec) {
  int id = INVALID_DEVID;
  const int ret = asynccrypt_DevOpenSpec(&id, text.c_str(), nullptr);
  FUZZ_CHECK((ret == 0) == (id != INVALID_DEVID));
  if (ret != 0) {
    FUZZ_CHECK(ret < 0);
    const char* why = asynccrypt_LastError();
    FUZZ_CHECK(why != nullptr && why[0] != '\0');
    return;
  }
  char kind[32];
  FUZZ_CHECK(asynccrypt_DevKind(id, kind, sizeof kind) == 0);
  FUZZ_CHECK(spec.kind == kind);
  asynccrypt_DevStats stats;
  FUZZ_CHECK(asynccrypt_DevGetStats(id, &stats) == 0);
  FUZZ_CHECK(stats.submitted == 0 && stats.in_flight == 0);
  word32 caps = 0;
  FUZZ_CHECK(asynccrypt_DevCapabilities(id, &caps) == 0);
  wolfAsync_DevClose(&id);
  FUZZ_CHECK(id == INVALID_DEVID);
}

}  // namespace

void run_spec(const std::uint8_t* data, std::size_t size) {
  // What the C API sees: the text up to its first NUL.
  const char* chars = reinterpret_cast<const char*>(data);
  const std::string text(chars, size == 0 ? 0 : strnlen(chars, size));
  auto parsed = parse_device_spec(text);
  if (!parsed.is_ok()) {
    FUZZ_CHECK(parsed.status().code() == BAD_FUNC_ARG);
    FUZZ_CHECK(!parsed.status().message().empty());
    return;
  }
  const DeviceSpec& spec = parsed.value();
  auto again = parse_device_spec(written_out(spec));
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(again.value().kind == spec.kind && again.value().options == spec.options);
  if (safe_to_open(spec)) check_open(text, spec);
}

}  // namespace asynccrypt::fuzz

#ifndef ASYNCCRYPT_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  asynccrypt::fuzz::run_spec(data, size);
  return 0;
}
#endif
