// Converts a PKCS#11 ECDSA signature (r || s) into the DER form wolfSSL uses.
#include "backends/pkcs11/ecdsa_der.h"

#include <cstring>

#include "core/wolfssl_api.h"

namespace asynccrypt::p11 {
namespace {

constexpr std::size_t kMaxRaw = 2 * std::size_t{66};  // r || s of P-521

// An unsigned big-endian integer as DER wants it: no leading zero bytes
// (but at least one byte), and one zero byte added when the top bit is set
// (so that it does not read as negative).
struct DerInteger {
  const unsigned char* bytes;
  std::size_t len;
  bool pad;
  std::size_t encoded() const { return 2 + (pad ? 1 : 0) + len; }
};

DerInteger der_integer(const unsigned char* value, std::size_t len) {
  while (len > 1 && value[0] == 0) {
    ++value;
    --len;
  }
  return {value, len, (value[0] & 0x80) != 0};
}

unsigned char* put_integer(unsigned char* p, const DerInteger& v) {
  *p++ = 0x02;
  *p++ = static_cast<unsigned char>(v.len + (v.pad ? 1 : 0));
  if (v.pad) *p++ = 0x00;
  std::memcpy(p, v.bytes, v.len);
  return p + v.len;
}

}  // namespace

Status raw_to_der(const unsigned char* raw, std::size_t raw_len, unsigned char* out,
                  std::size_t* out_len) {
  if (raw == nullptr || out == nullptr || out_len == nullptr) {
    return Status(BAD_FUNC_ARG, "raw_to_der: null argument");
  }
  if (raw_len == 0 || raw_len % 2 != 0 || raw_len > kMaxRaw) {
    return Status(BAD_FUNC_ARG, "ECDSA signature from the token has a bad length (" +
                                    std::to_string(raw_len) + " bytes)");
  }
  const std::size_t half = raw_len / 2;
  const DerInteger r = der_integer(raw, half);
  const DerInteger s = der_integer(raw + half, half);
  const std::size_t body = r.encoded() + s.encoded();
  // Long-form length once the body passes 127 bytes (P-521).
  const std::size_t total = (body < 0x80 ? 2 : 3) + body;
  if (*out_len < total) {
    *out_len = total;
    return Status(BUFFER_E, "ECDSA DER signature needs " + std::to_string(total) + " bytes");
  }
  unsigned char* p = out;
  *p++ = 0x30;
  if (body >= 0x80) *p++ = 0x81;
  *p++ = static_cast<unsigned char>(body);
  p = put_integer(p, r);
  p = put_integer(p, s);
  *out_len = static_cast<std::size_t>(p - out);
  return Status::ok();
}

}  // namespace asynccrypt::p11
