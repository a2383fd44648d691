// A small result type for the C++ core: wolfSSL's integer codes, never exceptions.
#pragma once

#include <string>
#include <utility>

namespace asynccrypt {

// Status is 0 on success or a negative wolfSSL error code, with an optional
// human-readable message for the caller (asynccrypt_LastError shows it).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  int code_ = 0;
  std::string message_;
};

// Result<T> is a value or a failed Status (no <expected> on this toolchain).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  T& value() { return value_; }
  T take() { return std::move(value_); }

 private:
  T value_{};
  Status status_;
};

}  // namespace asynccrypt
