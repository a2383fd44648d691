// Where a token's PIN comes from, and a buffer that wipes it after use.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"

namespace asynccrypt::p11 {

// SecretBytes owns a secret (a PIN) and overwrites it when destroyed, with a
// wipe the compiler may not remove. It is move-only, so no stray copies of
// the secret stay in memory.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t capacity);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  unsigned char* data() { return bytes_.get(); }
  const unsigned char* data() const { return bytes_.get(); }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  // Sets the length of the secret; at most capacity().
  void resize(std::size_t size) { size_ = size < capacity_ ? size : capacity_; }

 private:
  void wipe();

  std::unique_ptr<unsigned char[]> bytes_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

// PinSource names where the PIN is read from: an environment variable
// (pin-env=VAR) or a file (pin-file=PATH, its first line). It holds the name
// only, never the PIN: the PIN is read for each login (the first one and any
// after the token came back) and wiped as soon as the login returns.
class PinSource {
 public:
  // The longest PIN accepted, in bytes (tokens allow far less).
  static constexpr std::size_t kMaxPin = 255;

  PinSource() = default;
  static PinSource from_env(std::string variable);
  static PinSource from_file(std::string path);

  bool empty() const { return kind_ == Kind::kNone; }

  // Where the PIN comes from, for messages: "environment variable VAR" or
  // "file PATH". Never the PIN.
  std::string describe() const;

  // read returns the PIN, or BAD_FUNC_ARG with a message naming the source
  // (never the PIN) when the variable is unset, the file cannot be read,
  // the PIN is empty or longer than kMaxPin. A trailing "\n" or "\r\n" of a
  // file is not part of the PIN.
  Result<SecretBytes> read() const;

 private:
  enum class Kind { kNone, kEnv, kFile };
  PinSource(Kind kind, std::string name) : kind_(kind), name_(std::move(name)) {}

  Kind kind_ = Kind::kNone;
  std::string name_;
};

}  // namespace asynccrypt::p11
