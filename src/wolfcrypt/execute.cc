// The one place that calls back into wolfCrypt to execute a deferred operation.
#include "wolfcrypt/execute.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/des3.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/rsa.h>

namespace asynccrypt::wolfcrypt {
namespace {

#if !defined(NO_DH) && defined(WC_ASYNC_ENABLE_DH)
// Runs a recorded DH key generation and returns the public value at the
// prime's full length, left-padded with zeros when the number is shorter
// (about 1 in 256 keys), whenever the caller's buffer has room.
//
// Why: wolfSSL 5.5.4's TLS 1.3 key share (TLSX_KeyShare_GenDhKey) resets the
// lengths that a completed asynchronous generation wrote before it pads the
// key, so a short public value went out with a stale last byte and the
// handshake failed (docs/known-issues.md, issue 4). The padded value is the
// same number, in the fixed-length form TLS 1.3 requires anyway; the
// synchronous path returns the minimal form.
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
      return wc_ecc_shared_secret_ex(sw.eccSharedSec.private_key,
                                     static_cast<ecc_point*>(sw.eccSharedSec.public_point),
                                     sw.eccSharedSec.out, sw.eccSharedSec.outLen);
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
      return generate_dh_key_pair(sw);
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

}  // namespace

bool can_decline(int type) {
#if defined(HAVE_ECC) && defined(WC_ASYNC_ENABLE_ECC)
  if (type == ASYNC_SW_ECC_SHARED_SEC) return false;
#endif
  return type > ASYNC_SW_NONE;
}

int cost_class(const WC_ASYNC_DEV* dev, int type) {
#if !defined(NO_RSA) && defined(WC_ASYNC_ENABLE_RSA)
  static_assert(kPublicRsaClass > 14, "WC_ASYNC_SW_TYPE values are 1..14");
  if (dev != nullptr && type == ASYNC_SW_RSA_FUNC && dev->marker == WOLFSSL_ASYNC_MARKER_RSA) {
    // The marker says dev is the asyncDev of an RsaKey.
    const auto* key = reinterpret_cast<const RsaKey*>(reinterpret_cast<const char*>(dev) -
                                                      offsetof(RsaKey, asyncDev));
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
  return dev != nullptr && nonblock_key(dev->sw) != nullptr;
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
bool runs_in_slices(const WC_ASYNC_DEV*) { return false; }
NonblockLoan* lend_nonblock_ctx(WC_ASYNC_DEV*) { return nullptr; }
void return_nonblock_ctx(NonblockLoan*) {}
#endif

int execute(WC_ASYNC_DEV* dev) {
  if (dev == nullptr || dev->sw.type == ASYNC_SW_NONE) return BAD_FUNC_ARG;
  int ret = dispatch(dev);
  // ASYNCCRYPT_TRACE=1 prints every executed operation, for debugging.
  static const bool trace = std::getenv("ASYNCCRYPT_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "asynccrypt: %s -> %d\n", op_name(dev->sw.type), ret);
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
  dev->sw.type = ASYNC_SW_NONE;
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
    default:
      return "none";
  }
}

}  // namespace asynccrypt::wolfcrypt
