// The library's one way to say something: a level, a line of text, and the
// application's callback (asynccrypt_SetLogCallback) or stderr.
#pragma once

namespace asynccrypt {

// The levels of async.h's ASYNCCRYPT_LOG_*.
enum class LogLevel { kOff = 0, kError = 1, kInfo = 2, kDebug = 3 };

// Whether a message at `level` would be delivered: for callers that would
// otherwise compute its text for nothing (the per-operation trace).
bool log_enabled(LogLevel level);

// Formats one message (printf-style; cut at 512 bytes) and delivers it.
// Allocates nothing, so that it may run with memory out.
[[gnu::format(printf, 2, 3)]] void log(LogLevel level, const char* format, ...);

}  // namespace asynccrypt
