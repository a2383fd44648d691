// Marsaglia's xorshift32 step, for the cheap random choices of the threads
// device (the lone-operation rule's probes). Not for secrets.
#pragma once

#include <cstdint>

namespace asynccrypt {

// The next state after x (x must not be 0; the sequence never reaches 0).
constexpr std::uint32_t xorshift32(std::uint32_t x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

}  // namespace asynccrypt
