// Tests of the r || s to DER conversion (src/backends/pkcs11/ecdsa_der.cc) against wolfCrypt's.
#include <gtest/gtest.h>

#include <random>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/ecc.h>

#include "backends/pkcs11/ecdsa_der.h"
#include "support/test_random.h"

namespace {

using asynccrypt::p11::kMaxEcdsaDer;
using asynccrypt::p11::raw_to_der;
using testing_support::Bytes;
using testing_support::random_bytes;
using testing_support::test_seed;

Bytes ours(const Bytes& raw) {
  Bytes out(kMaxEcdsaDer);
  std::size_t len = out.size();
  EXPECT_TRUE(raw_to_der(raw.data(), raw.size(), out.data(), &len).is_ok());
  out.resize(len);
  return out;
}

Bytes wolfcrypt(const Bytes& raw) {
  Bytes out(kMaxEcdsaDer);
  word32 len = out.size();
  const word32 half = raw.size() / 2;
  EXPECT_EQ(wc_ecc_rs_raw_to_sig(raw.data(), half, raw.data() + half, half, out.data(), &len), 0);
  out.resize(len);
  return out;
}

TEST(Pkcs11EcdsaDer, MatchesWolfCryptOnEveryCurveSize) {
  std::mt19937 gen(test_seed());
  for (std::size_t half : {32u, 48u, 66u}) {
    for (int i = 0; i < 200; ++i) {
      Bytes raw = random_bytes(gen, 2 * half);
      // Edge cases on purpose: leading zero bytes, the top bit set.
      if (i % 4 == 1) raw[0] = 0, raw[1] = 0;
      if (i % 4 == 2) raw[half] = 0x80;
      if (i % 4 == 3) raw[0] = 0xff;
      EXPECT_EQ(ours(raw), wolfcrypt(raw)) << "curve bytes " << half << ", case " << i;
    }
  }
}

TEST(Pkcs11EcdsaDer, ZeroValuesStillHaveOneByte) {
  const Bytes raw(64, 0);
  EXPECT_EQ(ours(raw), (Bytes{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00}));
}

TEST(Pkcs11EcdsaDer, BadInputGetsTheExactCode) {
  Bytes raw(64, 1), out(kMaxEcdsaDer);
  std::size_t len = out.size();
  EXPECT_EQ(raw_to_der(raw.data(), 63, out.data(), &len).code(), BAD_FUNC_ARG);
  EXPECT_EQ(raw_to_der(raw.data(), 0, out.data(), &len).code(), BAD_FUNC_ARG);
  EXPECT_EQ(raw_to_der(raw.data(), 134, out.data(), &len).code(), BAD_FUNC_ARG);
  EXPECT_EQ(raw_to_der(nullptr, 64, out.data(), &len).code(), BAD_FUNC_ARG);
  EXPECT_EQ(raw_to_der(raw.data(), 64, nullptr, &len).code(), BAD_FUNC_ARG);
  len = 10;
  EXPECT_EQ(raw_to_der(raw.data(), 64, out.data(), &len).code(), BUFFER_E);
  EXPECT_EQ(len, 70u);  // what it needs: 2 + 2 * (2 + 32)
}

}  // namespace
