// A test helper: the seed every randomized test prints (ASYNCCRYPT_SEED replays it) and random
// byte strings drawn from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace testing_support {

using Bytes = std::vector<std::uint8_t>;

// test_seed is $ASYNCCRYPT_SEED, else a random seed; it prints the seed so
// that a failure replays with ASYNCCRYPT_SEED=N.
inline std::uint32_t test_seed() {
  const char* env = std::getenv("ASYNCCRYPT_SEED");
  const std::uint32_t seed = env != nullptr
                                 ? static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10))
                                 : static_cast<std::uint32_t>(std::random_device{}());
  std::printf("seed: ASYNCCRYPT_SEED=%u\n", seed);
  return seed;
}

// random_bytes is n bytes from gen.
inline Bytes random_bytes(std::mt19937& gen, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(gen());
  out.reserve(n + 1);  // never a NULL data() for empty inputs
  return out;
}

}  // namespace testing_support
