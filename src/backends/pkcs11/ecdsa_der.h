// Converts a PKCS#11 ECDSA signature (r || s) into the DER form wolfSSL uses.
#pragma once

#include <cstddef>

#include "core/status.h"

namespace asynccrypt::p11 {

// The largest DER signature raw_to_der writes for a raw signature of up to
// 2 * 66 bytes (P-521): SEQUENCE { INTEGER r, INTEGER s }.
constexpr std::size_t kMaxEcdsaDer = 3 + 2 * (2 + 1 + 66);

// raw_to_der writes SEQUENCE { INTEGER r, INTEGER s } for the raw signature
// `raw` (r then s, each raw_len / 2 bytes, big-endian, as CKM_ECDSA returns
// it) into out, and its length into *out_len. On entry *out_len is out's
// size. Fails with BAD_FUNC_ARG when raw_len is odd, zero or over 132, and
// BUFFER_E when out is too small (then *out_len is the size needed).
Status raw_to_der(const unsigned char* raw, std::size_t raw_len, unsigned char* out,
                  std::size_t* out_len);

}  // namespace asynccrypt::p11
