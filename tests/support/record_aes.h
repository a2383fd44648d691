// A test helper: an AES operation recorded on its object the way wolfCrypt records one above
// its size thresholds, so that an operation of any size reaches the device.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

namespace testing_support {

// record_aes records operation `type` (ASYNC_SW_AES_GCM_ENCRYPT,
// ASYNC_SW_AES_CBC_DECRYPT, ...) on *aes and answers WC_PENDING_E, as
// wolfCrypt does before the caller hands the object to a queue; the IV,
// tag and additional data are GCM's. BAD_STATE_E when wc_AsyncSwInit
// does not take it (the object holds an operation already, or the device
// declines this one).
inline int record_aes(Aes* aes, int type, byte* out, const byte* in, word32 sz,
                      const byte* iv = nullptr, word32 iv_sz = 0, byte* tag = nullptr,
                      word32 tag_sz = 0, const byte* aad = nullptr, word32 aad_sz = 0) {
  WC_ASYNC_DEV* dev = &aes->asyncDev;
  if (wc_AsyncSwInit(dev, type) != 1) return BAD_STATE_E;
  dev->sw.aes.aes = aes;
  dev->sw.aes.out = out;
  dev->sw.aes.in = in;
  dev->sw.aes.sz = sz;
  dev->sw.aes.iv = iv;
  dev->sw.aes.ivSz = iv_sz;
  dev->sw.aes.authTag = tag;
  dev->sw.aes.authTagSz = tag_sz;
  dev->sw.aes.authIn = aad;
  dev->sw.aes.authInSz = aad_sz;
  return WC_PENDING_E;
}

}  // namespace testing_support
