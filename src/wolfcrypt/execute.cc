// The one place that calls back into wolfCrypt to execute a deferred operation.
#include "wolfcrypt/execute.h"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/des3.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifdef HAVE_CURVE25519
#include <wolfssl/wolfcrypt/curve25519.h>
#endif

#include "core/log.h"
#include "wolfcrypt/owner_of.h"

namespace asynccrypt::wolfcrypt {
namespace {

#if !defined(NO_DH) && defined(WC_ASYNC_ENABLE_DH) && LIBWOLFSSL_VERSION_HEX < 0x05007000
// Runs a recorded DH key generation and returns the public value at the
// prime's full length, left-padded with zeros when the number is shorter
// (about 1 in 256 keys), whenever the caller's buffer has room.
//
// Why: wolfSSL 5.5.4's TLS 1.3 key share (TLSX_KeyShare_GenDhKey) resets the
// lengths that a completed asynchronous generation wrote before it pads the
// key, so a short public value went out with a stale last byte and the
// handshake failed (docs/known-issues.md, issue 4). The padded value is the
// same number, in the fixed-length form TLS 1.3 requires anyway; the
// synchronous path returns the minimal form. Only before 5.7 (the bug is
// fixed by 5.7.2): 5.9's own wolfCrypt test compares an asynchronously
// generated public value with wc_DhGeneratePublic's minimal form, and a
// padded one failed it about once in 40 runs of its DH test.
int generate_dh_key_pair(WC_ASYNC_SW& sw) {
  const word32 capacity = *sw.dhGen.pubSz;
  int ret = wc_DhGenerateKeyPair(sw.dhGen.key, sw.dhGen.rng, sw.dhGen.priv, sw.dhGen.privSz,
                                 sw.dhGen.pub, sw.dhGen.pubSz);
  if (ret != 0) return ret;
  const int prime_size = mp_unsigned_bin_size(&sw.dhGen.key->p);
  const word32 length = *sw.dhGen.pubSz;
  if (prime_size > 0 && length < static_cast<word32>(prime_size) &&
      static_cast<word32>(prime_size) <= capacity) {
    const word32 pad = static_cast<word32>(prime_size) - length;
    std::memmove(sw.dhGen.pub + pad, sw.dhGen.pub, length);
    std::memset(sw.dhGen.pub, 0, pad);
    *sw.dhGen.pubSz = static_cast<word32>(prime_size);
  }
  return ret;
}
#endif

int dispatch(WC_ASYNC_DEV* dev) {
  WC_ASYNC_SW& sw = dev->sw;
  switch (sw.type) {
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
    case ASYNC_SW_ECC_MAKE:
      return wc_ecc_make_key_ex(sw.eccMake.rng, sw.eccMake.size, sw.eccMake.key,
                                sw.eccMake.curve_id);
    case ASYNC_SW_ECC_SIGN:
      return wc_ecc_sign_hash_ex(sw.eccSign.in, sw.eccSign.inSz, sw.eccSign.rng, sw.eccSign.key,
                                 static_cast<mp_int*>(sw.eccSign.r),
                                 static_cast<mp_int*>(sw.eccSign.s));
    case ASYNC_SW_ECC_VERIFY:
      return wc_ecc_verify_hash_ex(static_cast<mp_int*>(sw.eccVerify.r),
                                   static_cast<mp_int*>(sw.eccVerify.s), sw.eccVerify.hash,
                                   sw.eccVerify.hashlen, sw.eccVerify.stat, sw.eccVerify.key);
    case ASYNC_SW_ECC_SHARED_SEC:
#if LIBWOLFSSL_VERSION_HEX >= 0x05006003
      // Since 5.6.3 wc_ecc_shared_secret_ex moves the key to its "result"
      // state when it pends and, called again, returns that (not yet
      // computed) result: compute the secret outside the state machine.
      return wc_ecc_shared_secret_gen_sync(sw.eccSharedSec.private_key,
                                           static_cast<ecc_point*>(sw.eccSharedSec.public_point),
                                           sw.eccSharedSec.out, sw.eccSharedSec.outLen);
#else
      return wc_ecc_shared_secret_ex(sw.eccSharedSec.private_key,
                                     static_cast<ecc_point*>(sw.eccSharedSec.public_point),
                                     sw.eccSharedSec.out, sw.eccSharedSec.outLen);
#endif
#endif
#if defined(HAVE_CURVE25519) && defined(WC_ASYNC_ENABLE_X25519)
    // Recorded by wolfSSL 5.9.0 and later: the same calls again compute.
    case ASYNC_SW_X25519_MAKE:
      return wc_curve25519_make_key(sw.x25519Make.rng, sw.x25519Make.size, sw.x25519Make.key);
    case ASYNC_SW_X25519_SHARED_SEC:
      return wc_curve25519_shared_secret_ex(sw.x25519SharedSec.priv, sw.x25519SharedSec.pub,
                                            sw.x25519SharedSec.out, sw.x25519SharedSec.outLen,
                                            sw.x25519SharedSec.endian);
#endif
#if !defined(NO_RSA) && defined(WC_ASYNC_ENABLE_RSA)
#ifdef WOLFSSL_KEY_GEN
    case ASYNC_SW_RSA_MAKE:
      return wc_MakeRsaKey(sw.rsaMake.key, sw.rsaMake.size, sw.rsaMake.e, sw.rsaMake.rng);
#endif
    case ASYNC_SW_RSA_FUNC:
      return wc_RsaFunction(sw.rsaFunc.in, sw.rsaFunc.inSz, sw.rsaFunc.out, sw.rsaFunc.outSz,
                            sw.rsaFunc.type, sw.rsaFunc.key, sw.rsaFunc.rng);
#endif
#if !defined(NO_DH) && defined(WC_ASYNC_ENABLE_DH)
    case ASYNC_SW_DH_AGREE:
      return wc_DhAgree(sw.dhAgree.key, sw.dhAgree.agree, sw.dhAgree.agreeSz, sw.dhAgree.priv,
                        sw.dhAgree.privSz, sw.dhAgree.otherPub, sw.dhAgree.pubSz);
    case ASYNC_SW_DH_GEN:
#if LIBWOLFSSL_VERSION_HEX < 0x05007000
      return generate_dh_key_pair(sw);
#else
      return wc_DhGenerateKeyPair(sw.dhGen.key, sw.dhGen.rng, sw.dhGen.priv, sw.dhGen.privSz,
                                  sw.dhGen.pub, sw.dhGen.pubSz);
#endif
#endif
#if !defined(NO_AES) && defined(WC_ASYNC_ENABLE_AES)
#ifdef HAVE_AES_CBC
    case ASYNC_SW_AES_CBC_ENCRYPT:
      return wc_AesCbcEncrypt(sw.aes.aes, sw.aes.out, sw.aes.in, sw.aes.sz);
#ifdef HAVE_AES_DECRYPT
    case ASYNC_SW_AES_CBC_DECRYPT:
      return wc_AesCbcDecrypt(sw.aes.aes, sw.aes.out, sw.aes.in, sw.aes.sz);
#endif
#endif
#ifdef HAVE_AESGCM
    case ASYNC_SW_AES_GCM_ENCRYPT:
      return wc_AesGcmEncrypt(sw.aes.aes, sw.aes.out, sw.aes.in, sw.aes.sz, sw.aes.iv, sw.aes.ivSz,
                              sw.aes.authTag, sw.aes.authTagSz, sw.aes.authIn, sw.aes.authInSz);
#ifdef HAVE_AES_DECRYPT
    case ASYNC_SW_AES_GCM_DECRYPT:
      return wc_AesGcmDecrypt(sw.aes.aes, sw.aes.out, sw.aes.in, sw.aes.sz, sw.aes.iv, sw.aes.ivSz,
                              sw.aes.authTag, sw.aes.authTagSz, sw.aes.authIn, sw.aes.authInSz);
#endif
#endif
#endif
#if !defined(NO_DES3) && defined(WC_ASYNC_ENABLE_3DES)
    case ASYNC_SW_DES3_CBC_ENCRYPT:
      return wc_Des3_CbcEncrypt(sw.des.des, sw.des.out, sw.des.in, sw.des.sz);
    case ASYNC_SW_DES3_CBC_DECRYPT:
      return wc_Des3_CbcDecrypt(sw.des.des, sw.des.out, sw.des.in, sw.des.sz);
#endif
    default:
      return BAD_FUNC_ARG;
  }
}

bool is_would_block(int ret) {
#ifdef FP_WOULDBLOCK
  if (ret == FP_WOULDBLOCK) return true;
#endif
#ifdef MP_WOULDBLOCK
  if (ret == MP_WOULDBLOCK) return true;
#endif
  return false;
}

#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC) && defined(WC_ECC_NONBLOCK)
// The ECC key whose non-blocking context an operation uses, or nullptr.
ecc_key* nonblock_key(const WC_ASYNC_SW& sw) {
  ecc_key* key = nullptr;
  switch (sw.type) {
    case ASYNC_SW_ECC_MAKE:
      key = sw.eccMake.key;
      break;
    case ASYNC_SW_ECC_SIGN:
      key = sw.eccSign.key;
      break;
    case ASYNC_SW_ECC_VERIFY:
      key = sw.eccVerify.key;
      break;
    case ASYNC_SW_ECC_SHARED_SEC:
      key = sw.eccSharedSec.private_key;
      break;
    default:
      break;
  }
  return key;
}

// The non-blocking context of the ECC key an operation uses, if it has one.
ecc_nb_ctx_t* nonblock_ctx(const WC_ASYNC_SW& sw) {
  const ecc_key* key = nonblock_key(sw);
  return key != nullptr ? key->nb_ctx : nullptr;
}
#endif

// Whether the key of the recorded RSA, DH or X25519 operation carries a
// non-blocking context of its own (wolfSSL 5.9: WC_RSA_NONBLOCK,
// WC_DH_NONBLOCK, WC_X25519_NONBLOCK). wolfCrypt then computes it one slice
// per call, answering MP_WOULDBLOCK until the last.
bool other_key_has_nonblock_ctx(const WC_ASYNC_SW& sw) {
  switch (sw.type) {
#if !defined(NO_RSA) && defined(WC_RSA_NONBLOCK)
    case ASYNC_SW_RSA_FUNC:
      return sw.rsaFunc.key != nullptr && sw.rsaFunc.key->nb != nullptr;
#endif
#if !defined(NO_DH) && defined(WC_DH_NONBLOCK)
    case ASYNC_SW_DH_AGREE:
      return sw.dhAgree.key != nullptr && sw.dhAgree.key->nb != nullptr;
    case ASYNC_SW_DH_GEN:
      return sw.dhGen.key != nullptr && sw.dhGen.key->nb != nullptr;
#endif
#if defined(HAVE_CURVE25519) && defined(WC_X25519_NONBLOCK)
    case ASYNC_SW_X25519_MAKE:
      return sw.x25519Make.key != nullptr && sw.x25519Make.key->nb_ctx != nullptr;
    case ASYNC_SW_X25519_SHARED_SEC:
      return sw.x25519SharedSec.priv != nullptr && sw.x25519SharedSec.priv->nb_ctx != nullptr;
#endif
    default:
      return false;
  }
}

// Whether the object that owns dev (its marker says which type) carries a
// non-blocking context of its own (wolfSSL 5.9: WC_RSA_NONBLOCK,
// WC_DH_NONBLOCK, WC_X25519_NONBLOCK).
bool owner_has_nonblock_ctx(const WC_ASYNC_DEV* dev) {
  switch (dev->marker) {
#if !defined(NO_RSA) && defined(WC_RSA_NONBLOCK)
    case WOLFSSL_ASYNC_MARKER_RSA:
      return owner_of<RsaKey>(dev)->nb != nullptr;
#endif
#if !defined(NO_DH) && defined(WC_DH_NONBLOCK)
    case WOLFSSL_ASYNC_MARKER_DH:
      return owner_of<DhKey>(dev)->nb != nullptr;
#endif
#if defined(HAVE_CURVE25519) && defined(WC_X25519_NONBLOCK)
    case WOLFSSL_ASYNC_MARKER_X25519:
      return owner_of<curve25519_key>(dev)->nb_ctx != nullptr;
#endif
    default:
      return false;
  }
}

}  // namespace

bool can_decline(const WC_ASYNC_DEV* dev, int type) {
  if (type <= ASYNC_SW_NONE) return false;
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
#if LIBWOLFSSL_VERSION_HEX < 0x05006003
  if (type == ASYNC_SW_ECC_SHARED_SEC) return false;  // known issue 10
#endif
#ifdef WC_ECC_NONBLOCK
  // With non-blocking ECC, wolfCrypt's synchronous path for a key with a
  // device may answer FP_WOULDBLOCK after one slice: ECC must pend.
  if (type >= ASYNC_SW_ECC_MAKE && type <= ASYNC_SW_ECC_SHARED_SEC) return false;
#endif
#endif
  // Likewise for any key with a non-blocking context: declined, wolfCrypt
  // would hand MP_WOULDBLOCK to TLS, which reports it as pending with
  // nothing queued (wolfSSL 5.9 gives a TLS key share's X25519 key one
  // whenever the connection has a device). Asked before wolfCrypt records
  // the operation's arguments: the record's owner, by its marker, says.
  if (dev != nullptr && owner_has_nonblock_ctx(dev)) return false;
  return true;
}

int cost_class(const WC_ASYNC_DEV* dev, int type) {
#if !defined(NO_RSA) && defined(WC_ASYNC_ENABLE_RSA)
  static_assert(kPublicRsaClass > 16, "WC_ASYNC_SW_TYPE values are 1..16");
  if (dev != nullptr && type == ASYNC_SW_RSA_FUNC && dev->marker == WOLFSSL_ASYNC_MARKER_RSA) {
    const auto* key = owner_of<RsaKey>(dev);  // the marker says so
    if (key->type == RSA_PUBLIC) return kPublicRsaClass;
  }
#else
  (void)dev;
#endif
  return type;
}

#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC) && defined(WC_ECC_NONBLOCK)
struct NonblockLoan {
  ecc_key* key;
  void* heap;
  ecc_nb_ctx_t ctx;
};

bool runs_in_slices(const WC_ASYNC_DEV* dev) {
  return dev != nullptr &&
         (nonblock_key(dev->sw) != nullptr || other_key_has_nonblock_ctx(dev->sw));
}

NonblockLoan* lend_nonblock_ctx(WC_ASYNC_DEV* dev) {
  if (dev == nullptr) return nullptr;
  ecc_key* key = nonblock_key(dev->sw);
  if (key == nullptr || key->nb_ctx != nullptr) return nullptr;
  void* mem = XMALLOC(sizeof(NonblockLoan), key->heap, DYNAMIC_TYPE_TMP_BUFFER);
  if (mem == nullptr) return nullptr;  // the operation then runs whole: slower, still right
  auto* loan = new (mem) NonblockLoan{key, key->heap, {}};
  wc_ecc_set_nonblock(key, &loan->ctx);
  return loan;
}

void return_nonblock_ctx(NonblockLoan* loan) {
  if (loan == nullptr) return;
  // The key may have been handed another context meanwhile: leave that one.
  if (loan->key->nb_ctx == &loan->ctx) wc_ecc_set_nonblock(loan->key, nullptr);
  [[maybe_unused]] void* heap = loan->heap;      // unused when XFREE ignores hints
  explicit_bzero(&loan->ctx, sizeof loan->ctx);  // it held intermediate secrets
  loan->~NonblockLoan();
  XFREE(loan, heap, DYNAMIC_TYPE_TMP_BUFFER);
}
#else
struct NonblockLoan {};
bool runs_in_slices(const WC_ASYNC_DEV* dev) {
  return dev != nullptr && other_key_has_nonblock_ctx(dev->sw);
}
NonblockLoan* lend_nonblock_ctx(WC_ASYNC_DEV*) { return nullptr; }
void return_nonblock_ctx(NonblockLoan*) {}
#endif

namespace {
// The record whose operation this thread is executing, if any: its
// wc_AsyncSwInit calls are the executor's, anyone else's are the caller's.
thread_local const WC_ASYNC_DEV* t_executing = nullptr;
}  // namespace

bool executing(const WC_ASYNC_DEV* dev) { return dev != nullptr && t_executing == dev; }

int execute(WC_ASYNC_DEV* dev) {
  if (dev == nullptr || dev->sw.type == ASYNC_SW_NONE) return BAD_FUNC_ARG;
  const WC_ASYNC_DEV* outer = t_executing;
  t_executing = dev;
  int ret = dispatch(dev);
  t_executing = outer;
  // Every executed operation, for debugging (ASYNCCRYPT_TRACE=1).
  if (log_enabled(LogLevel::kDebug)) log(LogLevel::kDebug, "%s -> %d", op_name(dev->sw.type), ret);
  if (is_would_block(ret)) return WC_PENDING_E;
  // The synchronous path never pends; if it did, the record would never
  // finish, so report it as a failed operation instead.
  if (ret == WC_PENDING_E) ret = ASYNC_OP_E;
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC) && defined(WC_ECC_NONBLOCK)
  // wolfSSL 5.5.4's non-blocking sign and verify leave their step counter at
  // "done" (key generation and ECDH clear theirs), so the key's next sign or
  // verify would return at once with a stale result (docs/known-issues.md,
  // issue 8). The operation has ended: start the key's next one afresh, as
  // wc_ecc_set_nonblock does.
  if (ecc_nb_ctx_t* nb = nonblock_ctx(dev->sw); nb != nullptr) std::memset(nb, 0, sizeof(*nb));
#endif
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC) && LIBWOLFSSL_VERSION_HEX >= 0x05006003
  // Since 5.6.3 a pending ECDH leaves its key in the "result" state, where
  // the call-again only collects. After a failure nobody collects, and the
  // key's next ECDH would return at once with nothing computed (the ECDH
  // case of known issue 5): start the key's next one afresh.
  if (ret != 0 && dev->sw.type == ASYNC_SW_ECC_SHARED_SEC &&
      dev->sw.eccSharedSec.private_key != nullptr) {
    dev->sw.eccSharedSec.private_key->state = 0;  // ECC_STATE_NONE
  }
#endif
  // Atomic: a caller that calls the API again while a worker runs this
  // reads it (wc_AsyncSwInit).
  std::atomic_ref<byte>(dev->sw.type).store(ASYNC_SW_NONE, std::memory_order_release);
  return ret;
}

int execute_to_completion(WC_ASYNC_DEV* dev) {
  int ret;
  do {
    ret = execute(dev);
  } while (ret == WC_PENDING_E);
  return ret;
}

const char* op_name(int sw_type) {
  switch (sw_type) {
    case 1:
      return "ECC make key";
    case 2:
      return "ECC sign";
    case 3:
      return "ECC verify";
    case 4:
      return "ECDH shared secret";
    case 5:
      return "RSA make key";
    case 6:
      return "RSA function";
    case 7:
      return "DH agree";
    case 8:
      return "DH key pair";
    case 9:
      return "AES-CBC encrypt";
    case 10:
      return "AES-CBC decrypt";
    case 11:
      return "AES-GCM encrypt";
    case 12:
      return "AES-GCM decrypt";
    case 13:
      return "3DES-CBC encrypt";
    case 14:
      return "3DES-CBC decrypt";
    case 15:
      return "X25519 make key";
    case 16:
      return "X25519 shared secret";
    default:
      return "none";
  }
}

}  // namespace asynccrypt::wolfcrypt
