// asynccrypt::Error and Expected<T>: how the C++ API reports a failed call without exceptions.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

// The public API lives in the inline namespace asynccrypt::api: callers
// write asynccrypt::Error, but the symbols differ from the private core's
// (src/, also namespace asynccrypt), so a name both use can never merge two
// classes at link time. Public names must still differ from the core's
// (asynccrypt::Device is the core's; the handle is DeviceHandle).
namespace asynccrypt {
inline namespace api {

// Error is a failed call: the negative wolfSSL/wolfCrypt code that the C
// contract returned (what a program branches on) and a message for people.
// It is a plain value: copy it, keep it, print it.
class Error {
 public:
  Error(int code, std::string message) : code_(code), message_(std::move(message)) {}

  // from_code describes `code` with wolfCrypt's text for it; `what` names
  // the call that failed ("asynccrypt_DevGetStats(7)").
  static Error from_code(int code, std::string_view what) {
    return {code, std::string(what) + ": " + wc_GetErrorString(code)};
  }

  // from_last_error describes `code` with asynccrypt_LastError(), which says
  // why an open or a slice-budget call failed (an unknown kind, a bad
  // option). Call it on the failing thread, before its next open: the text
  // is per thread and the next open replaces it.
  static Error from_last_error(int code, std::string_view what) {
    std::string message(what);
    const char* why = asynccrypt_LastError();
    message += ": ";
    message += (why != nullptr && *why != '\0') ? why : wc_GetErrorString(code);
    return {code, std::move(message)};
  }

  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // describe is the message with the code, for logs: "message (code)".
  std::string describe() const { return message_ + " (" + std::to_string(code_) + ")"; }

 private:
  int code_;
  std::string message_;
};

namespace detail {
// Misusing an Expected (value() of an error, error() of a value) is a bug in
// the caller, not a run-time condition: stop at once with what was there.
[[noreturn]] inline void bad_expected_access(const char* what, const Error* error) {
  std::fprintf(stderr, "asynccrypt: %s%s%s\n", what, error != nullptr ? ": " : "",
               error != nullptr ? error->describe().c_str() : "");
  std::abort();
}
}  // namespace detail

// Expected<T> is a T or an Error, shaped like C++23's std::expected (not in
// this toolchain) so that callers can switch to it later. The core's
// Status/Result (src/core/status.h) are private; this is the public type.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value)
      : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Expected(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  // value and the operators need has_value(); otherwise they abort.
  T& value() & { return *get(); }
  const T& value() const& { return *get(); }
  T&& value() && { return std::move(*get()); }
  T& operator*() & { return *get(); }
  const T& operator*() const& { return *get(); }
  T* operator->() { return get(); }
  const T* operator->() const { return get(); }

  // error needs !has_value(); otherwise it aborts.
  const Error& error() const {
    if (has_value()) detail::bad_expected_access("error() of a value", nullptr);
    return std::get<1>(v_);
  }

 private:
  T* get() {
    if (!has_value()) detail::bad_expected_access("value() of an error", &std::get<1>(v_));
    return &std::get<0>(v_);
  }
  const T* get() const { return const_cast<Expected*>(this)->get(); }

  std::variant<T, Error> v_;
};

// Expected<void> is success or an Error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit on purpose

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    if (ok_) detail::bad_expected_access("error() of a success", nullptr);
    return error_;
  }

 private:
  Error error_{0, ""};
  bool ok_ = true;
};

}  // namespace api
}  // namespace asynccrypt
