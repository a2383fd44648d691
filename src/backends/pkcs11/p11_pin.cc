// Where a token's PIN comes from, and a buffer that wipes it after use.
#include "backends/pkcs11/p11_pin.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/wolfssl_api.h"

namespace asynccrypt::p11 {

SecretBytes::SecretBytes(std::size_t capacity)
    : bytes_(std::make_unique<unsigned char[]>(capacity)), capacity_(capacity) {}

SecretBytes::~SecretBytes() { wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : bytes_(std::move(other.bytes_)), capacity_(other.capacity_), size_(other.size_) {
  other.capacity_ = 0;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    capacity_ = other.capacity_;
    size_ = other.size_;
    other.capacity_ = 0;
    other.size_ = 0;
  }
  return *this;
}

void SecretBytes::wipe() {
  // explicit_bzero: a plain memset before free may be optimised away.
  if (bytes_) explicit_bzero(bytes_.get(), capacity_);
  size_ = 0;
}

PinSource PinSource::from_env(std::string variable) { return {Kind::kEnv, std::move(variable)}; }

PinSource PinSource::from_file(std::string path) { return {Kind::kFile, std::move(path)}; }

std::string PinSource::describe() const {
  switch (kind_) {
    case Kind::kEnv:
      return "environment variable " + name_;
    case Kind::kFile:
      return "file " + name_;
    case Kind::kNone:
      break;
  }
  return "no PIN source";
}

namespace {

// Drops one trailing "\n" or "\r\n" (files written by editors and echo).
void strip_newline(SecretBytes& pin) {
  std::size_t n = pin.size();
  if (n > 0 && pin.data()[n - 1] == '\n') --n;
  if (n > 0 && pin.data()[n - 1] == '\r') --n;
  pin.resize(n);
}

// Reads at most pin.capacity() bytes of path into pin; one byte more would
// not fit and is reported as too long.
Status read_file(const std::string& path, SecretBytes& pin) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(BAD_FUNC_ARG, "cannot open PIN file " + path + ": " + std::strerror(errno));
  }
  std::size_t used = 0;
  Status status;
  for (;;) {
    const ssize_t got = ::read(fd, pin.data() + used, pin.capacity() - used);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      status = Status(BAD_FUNC_ARG, "cannot read PIN file " + path + ": " + std::strerror(errno));
      break;
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
    if (used == pin.capacity()) {
      status = Status(BAD_FUNC_ARG, "PIN file " + path + " is longer than a PIN can be");
      break;
    }
  }
  ::close(fd);
  pin.resize(status.is_ok() ? used : 0);
  return status;
}

}  // namespace

Result<SecretBytes> PinSource::read() const {
  // One byte more than the longest PIN, plus "\r\n": a longer file is refused.
  SecretBytes pin(kMaxPin + 3);
  switch (kind_) {
    case Kind::kNone:
      return Status(BAD_FUNC_ARG, "no PIN source (give pin-env=VAR or pin-file=PATH)");
    case Kind::kEnv: {
      const char* value = std::getenv(name_.c_str());
      if (value == nullptr) {
        return Status(BAD_FUNC_ARG, "PIN environment variable " + name_ + " is not set");
      }
      const std::size_t n = std::strlen(value);
      if (n > kMaxPin) {
        return Status(BAD_FUNC_ARG, "PIN in environment variable " + name_ + " is too long");
      }
      std::memcpy(pin.data(), value, n);
      pin.resize(n);
      break;
    }
    case Kind::kFile:
      if (Status s = read_file(name_, pin); !s.is_ok()) return s;
      strip_newline(pin);
      break;
  }
  if (pin.size() == 0) return Status(BAD_FUNC_ARG, "the PIN in " + describe() + " is empty");
  if (pin.size() > kMaxPin)
    return Status(BAD_FUNC_ARG, "the PIN in " + describe() + " is too long");
  return pin;
}

}  // namespace asynccrypt::p11
