// What every fuzz target shares: reading the input as small numbers, and a check that aborts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// FUZZ_CHECK aborts with the failed condition: libFuzzer keeps the input
// that got there, and the corpus replay test fails.
#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

// FUZZ_CHECK_EQ aborts when two integers differ, printing both.
#define FUZZ_CHECK_EQ(a, b)                                                                        \
  do {                                                                                             \
    const long long fuzz_a = static_cast<long long>(a);                                            \
    const long long fuzz_b = static_cast<long long>(b);                                            \
    if (fuzz_a != fuzz_b) {                                                                        \
      std::fprintf(stderr, "fuzz: invariant failed at %s:%d: %s == %s (%lld != %lld)\n", __FILE__, \
                   __LINE__, #a, #b, fuzz_a, fuzz_b);                                              \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

namespace asynccrypt::fuzz {

// Input reads the fuzzer's bytes as small numbers; zeros once it runs out,
// so every input, however short, is a complete run.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool more() const { return pos_ < size_; }
  unsigned byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  unsigned below(unsigned n) { return byte() % n; }
  bool flag() { return (byte() & 1) != 0; }
  // The rest of the input, as text (for the spec fuzzer).
  const char* rest(std::size_t* size) {
    *size = size_ - pos_;
    const char* text = reinterpret_cast<const char*>(data_ + pos_);
    pos_ = size_;
    return text;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace asynccrypt::fuzz
