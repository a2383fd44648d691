// Log messages: filtered by level, delivered to the application's callback or to stderr.
#include "core/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/immortal.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

// The level before any asynccrypt_SetLogLevel: INFO, or DEBUG with
// ASYNCCRYPT_TRACE=1 in the environment (every executed operation).
int initial_level() {
  static const int level = std::getenv("ASYNCCRYPT_TRACE") != nullptr
                               ? static_cast<int>(LogLevel::kDebug)
                               : static_cast<int>(LogLevel::kInfo);
  return level;
}

constexpr int kUnset = -1;
std::atomic<int> g_level{kUnset};

int current_level() {
  const int level = g_level.load(std::memory_order_relaxed);
  return level == kUnset ? initial_level() : level;
}

// The callback and its argument, read and written together.
struct Sink {
  std::mutex mu;
  asynccrypt_LogCallback callback = nullptr;
  void* ctx = nullptr;
};
Sink& sink() { return immortal<Sink>(); }

}  // namespace

bool log_enabled(LogLevel level) {
  return level != LogLevel::kOff && static_cast<int>(level) <= current_level();
}

void log(LogLevel level, const char* format, ...) {
  if (!log_enabled(level)) return;
  char message[512];
  va_list args;
  va_start(args, format);
  (void)std::vsnprintf(message, sizeof message, format, args);  // cut at the buffer
  va_end(args);
  asynccrypt_LogCallback callback;
  void* ctx;
  {
    std::lock_guard lock(sink().mu);
    callback = sink().callback;
    ctx = sink().ctx;
  }
  // Called without the lock: a callback may take as long as it likes.
  if (callback != nullptr) {
    callback(static_cast<int>(level), message, ctx);
  } else {
    (void)std::fprintf(stderr, "asynccrypt: %s\n", message);  // nowhere to report it
  }
}

}  // namespace asynccrypt

extern "C" {

int asynccrypt_SetLogCallback(asynccrypt_LogCallback callback, void* ctx) {
  asynccrypt::Sink& s = asynccrypt::sink();
  std::lock_guard lock(s.mu);
  s.callback = callback;
  s.ctx = callback != nullptr ? ctx : nullptr;
  return 0;
}

int asynccrypt_SetLogLevel(int level) {
  if (level < ASYNCCRYPT_LOG_OFF || level > ASYNCCRYPT_LOG_DEBUG) return BAD_FUNC_ARG;
  const int previous = asynccrypt::g_level.exchange(level, std::memory_order_relaxed);
  return previous == asynccrypt::kUnset ? asynccrypt::initial_level() : previous;
}

}  // extern "C"
