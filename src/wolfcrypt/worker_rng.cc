// Worker RNGs and the substitution of the caller's RNG in a recorded operation.
#include "wolfcrypt/worker_rng.h"

#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifdef HAVE_CURVE25519
#include <wolfssl/wolfcrypt/curve25519.h>
#endif

#include "wolfcrypt/execute.h"

namespace asynccrypt::wolfcrypt {
namespace {

// Replaces *slot by rng when it holds a caller RNG; remembers where to put
// the original back.
struct Swap {
  WC_RNG** slot = nullptr;
  WC_RNG* saved = nullptr;

  void replace(WC_RNG** where, WC_RNG* rng) {
    if (where == nullptr || *where == nullptr) return;  // NULL stays NULL
    slot = where;
    saved = *where;
    *where = rng;
  }
  void restore() {
    if (slot != nullptr) *slot = saved;
  }
};

// The RNG a key object keeps for itself, or nullptr when the build has none.
[[maybe_unused]] WC_RNG** key_rng(RsaKey* key) {
#if !defined(NO_RSA) && defined(WC_RSA_BLINDING)
  return key != nullptr ? &key->rng : nullptr;
#else
  (void)key;
  return nullptr;
#endif
}

[[maybe_unused]] WC_RNG** key_rng(ecc_key* key) {
#if defined(HAVE_ECC) && defined(ECC_TIMING_RESISTANT)
  return key != nullptr ? &key->rng : nullptr;
#else
  (void)key;
  return nullptr;
#endif
}

#ifdef HAVE_CURVE25519
[[maybe_unused]] WC_RNG** key_rng(curve25519_key* key) {
#ifdef WOLFSSL_CURVE25519_BLINDING
  return key != nullptr ? &key->rng : nullptr;
#else
  (void)key;
  return nullptr;
#endif
}
#endif

}  // namespace

WorkerRng::~WorkerRng() {
  if (rng_ == nullptr) return;
  wc_FreeRng(rng_);
  XFREE(rng_, nullptr, DYNAMIC_TYPE_RNG);
}

WC_RNG* WorkerRng::get(int* error) {
  if (rng_ != nullptr) return rng_;
  auto* rng = static_cast<WC_RNG*>(XMALLOC(sizeof(WC_RNG), nullptr, DYNAMIC_TYPE_RNG));
  if (rng == nullptr) {
    *error = MEMORY_E;
    return nullptr;
  }
  const int ret = wc_InitRng(rng);
  if (ret != 0) {
    XFREE(rng, nullptr, DYNAMIC_TYPE_RNG);
    *error = ret;
    return nullptr;
  }
  rng_ = rng;
  return rng_;
}

int execute_with_rng(WC_ASYNC_DEV* dev, WorkerRng& rng) {
  if (dev == nullptr) return BAD_FUNC_ARG;
  WC_ASYNC_SW& sw = dev->sw;
  // Where the operation keeps caller RNGs: an argument of the record (no
  // need to restore it: execute() clears the record) and the key's own RNG
  // (it outlives the operation, so it is put back).
  WC_RNG** arg = nullptr;
  WC_RNG** key = nullptr;
  switch (sw.type) {
#ifdef HAVE_ECC
    case ASYNC_SW_ECC_MAKE:
      arg = &sw.eccMake.rng;
      key = key_rng(sw.eccMake.key);
      break;
    case ASYNC_SW_ECC_SIGN:
      arg = &sw.eccSign.rng;
      key = key_rng(sw.eccSign.key);
      break;
    case ASYNC_SW_ECC_SHARED_SEC:
      key = key_rng(sw.eccSharedSec.private_key);
      break;
#endif
#ifndef NO_RSA
    case ASYNC_SW_RSA_MAKE:
      arg = &sw.rsaMake.rng;
      key = key_rng(sw.rsaMake.key);
      break;
    case ASYNC_SW_RSA_FUNC:
      arg = &sw.rsaFunc.rng;
      key = key_rng(sw.rsaFunc.key);
      break;
#endif
#ifndef NO_DH
    case ASYNC_SW_DH_GEN:
      arg = &sw.dhGen.rng;
      break;
#endif
#ifdef HAVE_CURVE25519
    // X25519 key generation under blinding also stores its RNG argument in
    // the key, for the key's later shared secrets.
    case ASYNC_SW_X25519_MAKE:
      arg = &sw.x25519Make.rng;
      key = key_rng(sw.x25519Make.key);
      break;
    case ASYNC_SW_X25519_SHARED_SEC:
      key = key_rng(sw.x25519SharedSec.priv);
      break;
#endif
    default:
      break;  // no randomness involved
  }
  const bool needs_rng = (arg != nullptr && *arg != nullptr) || (key != nullptr && *key != nullptr);
  if (!needs_rng) return execute_to_completion(dev);

  int error = 0;
  WC_RNG* own = rng.get(&error);
  if (own == nullptr) {
    sw.type = ASYNC_SW_NONE;
    return error;
  }
  WC_RNG* const caller_arg = arg != nullptr ? *arg : nullptr;
  Swap arg_swap;
  Swap key_swap;
  arg_swap.replace(arg, own);
  key_swap.replace(key, own);
  const int ret = execute_to_completion(dev);
  key_swap.restore();
  // An operation that stores its RNG argument in the key (X25519 key
  // generation) stored ours: the key keeps the caller's, as it would
  // synchronously. The worker's generator never outlives the operation.
  if (key != nullptr && *key == own) *key = caller_arg;
  return ret;
}

}  // namespace asynccrypt::wolfcrypt
