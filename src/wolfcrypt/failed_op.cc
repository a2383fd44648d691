// Resets a key's wolfCrypt state after a failed asynchronous operation.
#include "wolfcrypt/failed_op.h"

#include <cstddef>
#include <cstring>

#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "wolfcrypt/owner_of.h"

namespace asynccrypt::wolfcrypt {
namespace {

// The state value both RsaKey and ecc_key start from (RSA_STATE_NONE and
// ECC_STATE_NONE are private to rsa.c and ecc.c; both are 0, as after init).
constexpr int kStateNone = 0;

#if !defined(NO_RSA) && defined(WC_ASYNC_ENABLE_RSA)
void reset_rsa(RsaKey* key) {
  key->state = kStateNone;
#ifndef WOLFSSL_NO_MALLOC
  // A decryption copies its input here before it pends; wolfCrypt frees it
  // only when an operation ends through its own code, and refuses the
  // key's next decryption (BAD_STATE_E) while it is set.
  if (key->dataIsAlloc && key->data != nullptr) {
    explicit_bzero(key->data, key->dataLen);
    XFREE(key->data, key->heap, DYNAMIC_TYPE_WOLF_BIGINT);
  }
  key->dataIsAlloc = 0;
#endif
  key->data = nullptr;
  key->dataLen = 0;
}
#endif

#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
// Frees one of the key's sign/verify temporaries (r or s), as wolfCrypt's
// own cleanup does: mp_clear also frees the raw form an asynchronous
// operation gave it, which the next operation's mp_init would drop.
void free_temporary(ecc_key* key, mp_int** mp) {
  if (*mp == nullptr) return;
  mp_clear(*mp);
  XFREE(*mp, key->heap, DYNAMIC_TYPE_BIGINT);
  *mp = nullptr;
}

void reset_ecc(ecc_key* key) {
  // Sign, verify and ECDH keep their step in key->state.
  key->state = kStateNone;
  free_temporary(key, &key->r);
  free_temporary(key, &key->s);
}
#endif

}  // namespace

void reset_after_failure(WC_ASYNC_DEV* dev) {
  if (dev == nullptr) return;
  dev->sw.type = ASYNC_SW_NONE;
  switch (dev->marker) {
#if !defined(NO_RSA) && defined(WC_ASYNC_ENABLE_RSA)
    case WOLFSSL_ASYNC_MARKER_RSA:
      reset_rsa(owner_of<RsaKey>(dev));
      break;
#endif
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
    case WOLFSSL_ASYNC_MARKER_ECC:
      reset_ecc(owner_of<ecc_key>(dev));
      break;
#endif
    default:
      break;  // AES, 3DES, DH and X25519 keep no state across a pending call
  }
}

}  // namespace asynccrypt::wolfcrypt
