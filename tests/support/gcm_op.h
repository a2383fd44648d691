// A test helper: one AES-GCM encryption on its own object, checkable against wolfCrypt without a
// device.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

#include <cstring>

namespace testing_support {

// Above the threshold, so AES-GCM takes the asynchronous path.
constexpr word32 kGcmSz = 2 * WC_ASYNC_THRESH_AES_GCM;
constexpr word32 kIvSz = 12;  // the only IV size the async path accepts
constexpr word32 kTagSz = 16;

// GcmOp owns an Aes bound to a device and the buffers of one encryption,
// derived from `seed`. start() issues it (clearing the output first);
// correct() compares the result with the same encryption done synchronously.
struct GcmOp {
  GcmOp(int dev_id, byte seed) {
    for (word32 i = 0; i < sizeof key; ++i) key[i] = static_cast<byte>(seed + i);
    for (word32 i = 0; i < kIvSz; ++i) iv[i] = static_cast<byte>(seed * 3 + i);
    for (word32 i = 0; i < kGcmSz; ++i) in[i] = static_cast<byte>(seed ^ i);
    init_ret = wc_AesInit(&aes, nullptr, dev_id);
    if (init_ret == 0) init_ret = wc_AesGcmSetKey(&aes, key, sizeof key);
  }
  ~GcmOp() { wc_AesFree(&aes); }
  GcmOp(const GcmOp&) = delete;
  GcmOp& operator=(const GcmOp&) = delete;

  int start() {
    std::memset(out, 0, sizeof out);
    return wc_AesGcmEncrypt(&aes, out, in, kGcmSz, iv, kIvSz, tag, kTagSz, nullptr, 0);
  }

  // True when out and tag hold the correct encryption.
  bool correct() const {
    Aes sync;
    byte want[kGcmSz];
    byte want_tag[kTagSz];
    if (wc_AesInit(&sync, nullptr, INVALID_DEVID) != 0) return false;
    const bool ok =
        wc_AesGcmSetKey(&sync, key, sizeof key) == 0 &&
        wc_AesGcmEncrypt(&sync, want, in, kGcmSz, iv, kIvSz, want_tag, kTagSz, nullptr, 0) == 0 &&
        std::memcmp(want, out, kGcmSz) == 0 && std::memcmp(want_tag, tag, kTagSz) == 0;
    wc_AesFree(&sync);
    return ok;
  }

  WC_ASYNC_DEV* dev() { return &aes.asyncDev; }
  WOLF_EVENT* event() { return &aes.asyncDev.event; }

  int init_ret = 0;
  Aes aes;
  byte key[16];
  byte iv[kIvSz];
  byte in[kGcmSz];
  byte out[kGcmSz] = {};
  byte tag[kTagSz] = {};
};

}  // namespace testing_support
